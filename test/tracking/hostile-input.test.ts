import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { RunSearch } from '../../lambdas/tracking/domain/run-search';
import { createDynamoTrackingStore } from '../../lambdas/tracking/store/dynamo-tracking-store';
import { localDynamoClients } from '../../local/engines/dynamodb';
import { apiUrl, call, classifierOnnx, putArtifact, unique } from './support';

// Issue 17: what hostile or merely unusual input does to the tracking API. Every answer
// is a 200 with the right data or a 400 naming the fault, never a 500 or a stall.

async function newExperiment(prefix = 'hostile'): Promise<string> {
  return (await call('POST', 'experiments/create', { name: unique(prefix) })).body.experiment_id;
}

async function newRun(experimentId?: string): Promise<string> {
  const exp = experimentId ?? (await newExperiment());
  return (await call('POST', 'runs/create', { experiment_id: exp })).body.run.info.run_id;
}

async function runIdsOf(experimentId: string): Promise<string[]> {
  const r = await call('POST', 'runs/search', { experiment_ids: [experimentId], max_results: 1000 });
  return (r.body.runs ?? []).map((x: { info: { run_id: string } }) => x.info.run_id);
}

/** A JSON POST with extra headers (the support helper sends none). */
async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): ReturnType<typeof call> {
  const res = await fetch(`${apiUrl}/api/2.0/mlflow/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('LIKE filters', () => {
  it('answer a pattern that backtracks exponentially as a RegExp, while other requests go on', async () => {
    const exp = await newExperiment('like');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await newRun(exp);
      await call('POST', 'runs/log-parameter', { run_id: id, key: 'p', value: 'a'.repeat(30) });
      ids.push(id);
    }
    const search = (pattern: string) =>
      call('POST', 'runs/search', { experiment_ids: [exp], filter: `params.p LIKE '${pattern}'` });
    const evil = search(`${'%'.repeat(28)}b`);
    // The same worker serves this while the search above runs.
    const other = await call('GET', `experiments/get?experiment_id=${exp}`);
    expect(other.status).toBe(200);
    expect((await evil).status).toBe(200);
    expect((await evil).body.runs ?? []).toEqual([]);
    const hit = await search(`${'%a'.repeat(14)}%`);
    expect(hit.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id).sort()).toEqual(ids.sort());
  });

  it('refuses an absurdly long pattern with 400', async () => {
    const exp = await newExperiment('like');
    const r = await call('POST', 'runs/search', {
      experiment_ids: [exp],
      filter: `params.p LIKE '${'%a'.repeat(600)}'`,
    });
    expect(r).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(r.body.message).toContain('the limit is 1000');
    expect(r.body.message.length).toBeLessThan(400);
  });
});

describe('a search out of its time budget', () => {
  it('answers what it found with a token, and the tokens lead through every matching run', async () => {
    const exp = await newExperiment('budget');
    const made: { id: string; start: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const start = 1_600_000_000_000 + i * 1000;
      const run = (await call('POST', 'runs/create', { experiment_id: exp, start_time: start })).body.run;
      await call('POST', 'runs/log-parameter', {
        run_id: run.info.run_id,
        key: 'k',
        value: i % 3 ? 'x' : 'y',
      });
      made.push({ id: run.info.run_id, start });
    }
    const { client, doc } = localDynamoClients(inject('dynamodbEndpoint'));
    const tables = (await client.send(new ListTablesCommand({}))).TableNames ?? [];
    const table = tables.find((t) => /tracking/i.test(t));
    expect(table, tables.join(', ')).toBeDefined();
    // A budget of 0 ms: every request stops after the first run it looks at.
    const search = new RunSearch(createDynamoTrackingStore(doc, table as string), { budgetMs: 0 });
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const page = await search.search({
        experiment_ids: [exp],
        filter: "params.k LIKE 'x%'",
        max_results: 100,
        page_token: token,
      });
      pages.push(page.runs.map((r) => r.info.run_id));
      token = page.next_page_token;
    } while (token && pages.length < 50);
    expect(pages.length).toBeGreaterThan(1);
    const want = made
      .filter((_, i) => i % 3 !== 0)
      .sort((a, b) => b.start - a.start)
      .map((m) => m.id);
    expect(pages.flat()).toEqual(want);
  });
});

describe('metric values DynamoDB numbers cannot hold', () => {
  const values: [unknown, number | string][] = [
    [1e20, 1e20],
    [2 ** 53 + 2, 2 ** 53 + 2],
    [-(2 ** 60), -(2 ** 60)],
    [1e-200, 1e-200],
    [5e-324, 5e-324],
    [-1e300, -1e300],
    [0.1 + 0.2, 0.1 + 0.2],
    ['Infinity', Number.MAX_VALUE],
    ['inf', Number.MAX_VALUE],
    ['-Infinity', -Number.MAX_VALUE],
    [1.7976931348623157e308, Number.MAX_VALUE],
    ['NaN', 'NaN'],
  ];

  it('are stored losslessly and echoed as MLflow does (±Infinity clamped, NaN as "NaN")', async () => {
    const runId = await newRun();
    for (const [i, [value]] of values.entries()) {
      const r = await call('POST', 'runs/log-metric', {
        run_id: runId,
        key: `m${i}`,
        value,
        timestamp: 1,
        step: 0,
      });
      expect(r.status, `log-metric ${String(value)}`).toBe(200);
    }
    const batch = await call('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: values.map(([value], i) => ({ key: `b${i}`, value, timestamp: 1, step: 0 })),
    });
    expect(batch.status).toBe(200);
    const run = (await call('GET', `runs/get?run_id=${runId}`)).body.run;
    const latest = Object.fromEntries(
      run.data.metrics.map((m: { key: string; value: unknown }) => [m.key, m.value]),
    );
    for (const [i, [, want]] of values.entries()) {
      expect(latest[`m${i}`]).toBe(want);
      expect(latest[`b${i}`]).toBe(want);
      const history = await call('GET', `metrics/get-history?run_id=${runId}&metric_key=m${i}`);
      expect(history.body.metrics[0].value).toBe(want);
    }
  });

  it('compare correctly in filters, and a bound beyond a double is Infinity, not a 500', async () => {
    const exp = await newExperiment('extreme');
    const byValue = new Map<string, number | string>();
    for (const v of [1e20, -1e300, 1e-200, 0.5, 'NaN', 'Infinity'] as const) {
      const id = await newRun(exp);
      await call('POST', 'runs/log-metric', { run_id: id, key: 'm', value: v, timestamp: 1 });
      byValue.set(id, v === 'Infinity' ? Number.MAX_VALUE : v);
    }
    const found = async (filter: string, extra: Record<string, unknown> = {}) => {
      const r = await call('POST', 'runs/search', { experiment_ids: [exp], filter, ...extra });
      expect(r.status, filter).toBe(200);
      return (r.body.runs ?? []).map((x: { info: { run_id: string } }) => byValue.get(x.info.run_id)).sort();
    };
    const sorted = (xs: (number | string)[]) => [...xs].sort();
    expect(await found('metrics.m > 1e19')).toEqual(sorted([1e20, Number.MAX_VALUE]));
    expect(await found('metrics.m < 0')).toEqual([-1e300]);
    expect(await found('metrics.m > 0 AND metrics.m < 1e-100')).toEqual([1e-200]);
    expect(await found('metrics.m > 1e309')).toEqual([]);
    expect(await found('metrics.m < 1e309')).toEqual(sorted([1e20, -1e300, 1e-200, 0.5, Number.MAX_VALUE]));
    expect(await found('metrics.m >= -1e309', { order_by: ['metrics.m DESC'] })).toEqual(
      sorted([1e20, -1e300, 1e-200, 0.5, Number.MAX_VALUE]),
    );
    expect(await found('attributes.start_time < 1e309')).toHaveLength(6);
    expect(await found('attributes.start_time > 1e20')).toEqual([]);
  });
});

describe('items beyond what storage holds', () => {
  it('answer 400 INVALID_PARAMETER_VALUE and write nothing', async () => {
    const exp = await newExperiment('big');
    const bad = async (path: string, body: unknown, method = 'POST') => {
      const r = await call(method, path, body);
      expect(r.status, path).toBe(400);
      expect(r.body.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(r.body.message.length, path).toBeLessThan(600);
      return r;
    };
    await bad('runs/create', { experiment_id: exp, run_name: 'n'.repeat(500_000) });
    const tags = Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: 'v'.repeat(5000) }));
    await bad('runs/create', { experiment_id: exp, tags });
    await bad('runs/create', { experiment_id: exp, start_time: '9999999999999999999999' });
    expect(await runIdsOf(exp)).toEqual([]);

    const runId = await newRun(exp);
    const before = (await call('GET', `runs/get?run_id=${runId}`)).body.run.data;
    const r = await bad('runs/log-batch', {
      run_id: runId,
      tags,
      metrics: [{ key: 'm', value: 1, timestamp: 1 }],
    });
    expect(r.body.message).toContain('artifacts');
    expect((await call('GET', `runs/get?run_id=${runId}`)).body.run.data).toEqual(before);
    expect(
      (await call('GET', `metrics/get-history?run_id=${runId}&metric_key=m`)).body.metrics ?? [],
    ).toEqual([]);
    await bad('runs/update', { run_id: runId, run_name: 'n'.repeat(500_000) });
    await bad('runs/update', { run_id: runId, end_time: '-9999999999999999999999' });
    await bad('runs/log-inputs', {
      run_id: runId,
      datasets: [{ dataset: { name: 'd', digest: 'x', source_type: 's', source: 'y'.repeat(500_000) } }],
    });

    await bad('experiments/create', { name: unique('big'), tags: [{ key: 'k', value: 'v'.repeat(6000) }] });
    const longName = await call('GET', `experiments/get-by-name?experiment_name=${'e'.repeat(3000)}`);
    expect(longName).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });

    const model = unique('big-model');
    await bad('registered-models/create', { name: model, description: 'd'.repeat(1_000_000) });
    await bad('registered-models/create', { name: '€'.repeat(400) });
    expect((await call('POST', 'registered-models/create', { name: model })).status).toBe(200);
    await bad('registered-models/update', { name: model, description: 'd'.repeat(1_000_000) }, 'PATCH');
    await bad('model-versions/create', { name: model, source: `s3://b/${'k'.repeat(1_000_000)}` });
    const versions = await call(
      'GET',
      `model-versions/search?filter=${encodeURIComponent(`name = '${model}'`)}`,
    );
    expect(versions.body.model_versions ?? []).toEqual([]);
  });
});

describe('creates', () => {
  it('are separate objects for separate calls, as in MLflow, and one object for a retried Idempotency-Key', async () => {
    const exp = await newExperiment('create');
    const a = await post('runs/create', { experiment_id: exp });
    const b = await post('runs/create', { experiment_id: exp });
    expect(a.body.run.info.run_id).not.toBe(b.body.run.info.run_id);

    const key = `k-${unique('idem')}`;
    const first = await post('runs/create', { experiment_id: exp }, { 'Idempotency-Key': key });
    const retry = await post('runs/create', { experiment_id: exp }, { 'idempotency-key': key });
    expect(retry.body.run.info.run_id).toBe(first.body.run.info.run_id);
    expect((await runIdsOf(exp)).sort()).toEqual(
      [a.body.run.info.run_id, b.body.run.info.run_id, first.body.run.info.run_id].sort(),
    );
    const reused = await post(
      'runs/create',
      { experiment_id: exp, run_name: 'other' },
      { 'Idempotency-Key': key },
    );
    expect(reused).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(reused.body.message).toContain('Idempotency-Key');
    const badKey = await post('runs/create', { experiment_id: exp }, { 'Idempotency-Key': 'x'.repeat(300) });
    expect(badKey.status).toBe(400);
  });

  it('register the same source twice as two versions, unless the retry carries the same key', async () => {
    const name = unique('idem-model');
    await call('POST', 'registered-models/create', { name });
    const run = (await call('POST', 'runs/create', { experiment_id: await newExperiment('idem') })).body.run;
    await putArtifact(run.info.artifact_uri, 'model.onnx', classifierOnnx(false));
    const body = { name, source: `runs:/${run.info.run_id}/model.onnx`, run_id: run.info.run_id };
    const v1 = await post('model-versions/create', body);
    const v2 = await post('model-versions/create', body);
    expect([v1.body.model_version.version, v2.body.model_version.version]).toEqual(['1', '2']);
    const key = unique('key');
    const v3 = await post('model-versions/create', body, { 'Idempotency-Key': key });
    const again = await post('model-versions/create', body, { 'Idempotency-Key': key });
    expect(again.body.model_version.version).toBe(v3.body.model_version.version);
    expect(v3.body.model_version.version).toBe('3');
  });
});

describe('text that cannot be stored as sent', () => {
  it('refuses U+0000 and unpaired surrogates anywhere, and U+FFFD in names, with 400', async () => {
    const runId = await newRun();
    const refused = [
      ['runs/log-parameter', { run_id: runId, key: 'p', value: 'a\u0000b' }],
      ['runs/set-tag', { run_id: runId, key: 't', value: 'x\ud800y' }],
      ['runs/set-tag', { run_id: runId, key: 't', value: '\udc00' }],
      ['experiments/create', { name: `bad\ufffdname-${unique('x')}` }],
      ['runs/update', { run_id: runId, run_name: 'a\ufffd' }],
      ['registered-models/create', { name: `m\u0000${unique('x')}` }],
    ] as const;
    for (const [path, body] of refused) {
      const r = await call('POST', path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    // A replacement character in a value may be meant (text copied from a log): kept.
    expect(
      (await call('POST', 'runs/set-tag', { run_id: runId, key: 't', value: 'ok \ufffd 😀' })).status,
    ).toBe(200);
    const data = (await call('GET', `runs/get?run_id=${runId}`)).body.run.data;
    expect(data.params).toEqual([]);
    expect(data.tags).toContainEqual({ key: 't', value: 'ok \ufffd 😀' });
  });
});

describe('order_by and stages', () => {
  it('refuses an unknown direction, and orders by parameters. as by params.', async () => {
    const exp = await newExperiment('order');
    for (const lr of ['0.3', '0.1', '0.2']) {
      const id = await newRun(exp);
      await call('POST', 'runs/log-parameter', { run_id: id, key: 'lr', value: lr });
    }
    const sideways = await call('POST', 'runs/search', {
      experiment_ids: [exp],
      order_by: ['metrics.auc SIDEWAYS'],
    });
    expect(sideways).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    const r = await call('POST', 'runs/search', { experiment_ids: [exp], order_by: ['parameters.lr DESC'] });
    expect(
      r.body.runs.map((x: { data: { params: { value: string }[] } }) => x.data.params[0]?.value),
    ).toEqual(['0.3', '0.2', '0.1']);
  });

  it('echoes at most 100 characters of a rejected value', async () => {
    const runId = await newRun();
    const r = await call('POST', 'runs/log-parameter', { run_id: runId, key: 'k'.repeat(5000), value: 'v' });
    expect(r.status).toBe(400);
    expect(r.body.message.length).toBeLessThan(400);
    const id = await call('GET', `runs/get?run_id=${'r'.repeat(5000)}`);
    expect(id.status).toBe(400);
    expect(id.body.message.length).toBeLessThan(400);
  });
});
