import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createMlflowClient } from '../../../lambdas/tracking/client/mlflow-client';
import { MlflowApiError } from '../../../lambdas/tracking/client/rest';
import { runContextTags } from '../../../lambdas/tracking/client/run-context';
import { apiUrl, call, unique } from '../support';

const { tracking, artifacts, registry } = createMlflowClient({ apiUrl });
/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

const tagsOf = (tags: { key: string; value: string }[]) =>
  Object.fromEntries(tags.map((t) => [t.key, t.value]));

describe('the tracking client against the local API', () => {
  it('reads every page of a run search, in the server order, and stops at maxResults', async () => {
    const exp = await tracking.getOrCreateExperiment(unique('paging'));
    // Distinct start times make the expected order (newest first) unambiguous.
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push(
        (await tracking.createRun({ experimentId: exp, runName: `r${i}`, startTime: 1_000 + i })).info.run_id,
      );
    const all = await tracking.searchRuns({ experimentIds: [exp] }, { pageSize: 3 });
    expect(all.map((r) => r.info.run_id)).toEqual([...ids].reverse());
    const five = await tracking.searchRuns({ experimentIds: [exp], maxResults: 5 }, { pageSize: 2 });
    expect(five.map((r) => r.info.run_name)).toEqual(['r6', 'r5', 'r4', 'r3', 'r2']);
    // One server page holds only 3: the client really paged.
    const one = await call('POST', 'runs/search', { experiment_ids: [exp], max_results: 3 });
    expect(one.body.runs).toHaveLength(3);
    expect(one.body.next_page_token).toBeTruthy();
    // The same experiment by name and by id.
    expect(await tracking.getOrCreateExperiment((await tracking.getExperiment(exp)).name)).toBe(exp);
  });

  it('logs a batch above every MLflow limit in chunks the server accepts, and reads the history back paged', async () => {
    const exp = await tracking.getOrCreateExperiment(unique('chunks'));
    const run = await tracking.createRun({ experimentId: exp, runName: 'big' });
    const runId = run.info.run_id;
    const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: `v${i * 7}` }));
    const tags = Array.from({ length: 230 }, (_, i) => ({ key: `t${i}`, value: `w${i}` }));
    const metrics = Array.from({ length: 2345 }, (_, i) => ({
      key: `m${i % 3}`,
      value: i / 10,
      step: Math.floor(i / 3),
      timestamp: 5_000 + i,
    }));
    // The server refuses one request this size: chunking is what makes it pass.
    const raw = await call('POST', 'runs/log-batch', { run_id: runId, params: params.slice(0, 101) });
    expect(raw.status).toBe(400);
    expect(await tracking.logBatch(runId, { params, tags, metrics })).toBe(3);
    const stored = await tracking.getRun(runId);
    expect(tagsOf(stored.data.params)).toEqual(tagsOf(params));
    expect(tagsOf(stored.data.tags)).toMatchObject(tagsOf(tags));
    const m1 = await tracking.getMetricHistory(runId, 'm1', { pageSize: 100 });
    expect(m1).toHaveLength(782);
    expect(m1.map((m) => m.step)).toEqual(Array.from({ length: 782 }, (_, i) => i));
    expect(m1.map((m) => m.value)).toEqual(Array.from({ length: 782 }, (_, i) => (i * 3 + 1) / 10));
    expect(Object.fromEntries(stored.data.metrics.map((m) => [m.key, m.step]))).toEqual({
      m0: 781,
      m1: 781,
      m2: 780,
    });
  });

  it('records run context as MLflow standard tags: git commit, source, user, runtime and dataset digest', async () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD']).toString().trim();
    const exp = await tracking.getOrCreateExperiment(unique('context'));
    const run = await tracking.createRun({
      experimentId: exp,
      runName: 'ctx',
      tags: runContextTags({ datasetDigest: 'sha256:feedbeef', user: 'ada', sourceName: 'train.ts' }),
    });
    expect(tagsOf((await tracking.getRun(run.info.run_id)).data.tags)).toMatchObject({
      'mlflow.source.git.commit': head,
      'mlflow.source.name': 'train.ts',
      'mlflow.source.type': 'LOCAL',
      'mlflow.user': 'ada',
      'mlops.runtime.node': process.version,
      'mlops.runtime.platform': `${process.platform}-${process.arch}`,
      'mlops.dataset.digest': 'sha256:feedbeef',
      'mlflow.runName': 'ctx',
    });
    // A given commit wins over git; outside a repository no commit tag is invented.
    expect(runContextTags({ gitCommit: 'abc123' })['mlflow.source.git.commit']).toBe('abc123');
    const outside = runContextTags({ cwd: tmpdir() });
    expect(outside).not.toHaveProperty('mlflow.source.git.commit');
    expect(outside).not.toHaveProperty('mlops.dataset.digest');
  });

  it('uploads, lists and downloads artifacts through the proxy, and refuses escaping paths before sending', async () => {
    const exp = await tracking.getOrCreateExperiment(unique('art'));
    const runId = (await tracking.createRun({ experimentId: exp })).info.run_id;
    const bytes = new Uint8Array([0, 1, 2, 250, 251]);
    await artifacts.upload(runId, 'model/weights.bin', bytes);
    await artifacts.upload(runId, 'model/notes.txt', 'hello');
    expect(await artifacts.download(runId, 'model/weights.bin')).toEqual(bytes);
    const listed = await artifacts.list(runId, 'model');
    expect(listed.map((f) => [f.path, f.is_dir]).sort()).toEqual([
      ['model/notes.txt', false],
      ['model/weights.bin', false],
    ]);
    await expect(artifacts.upload(runId, '../other/x', 'x')).rejects.toThrow(/must be relative/);
  });

  it('answers an unknown run with the API error, typed, and an unreachable API with what to do', async () => {
    const err = await tracking.getRun('0123456789abcdef0123456789abcdef').catch((e) => e);
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err.wireCode).toBe('RESOURCE_DOES_NOT_EXIST');
    const port = await closedPort();
    const down = createMlflowClient({ apiUrl: `http://127.0.0.1:${port}` });
    await expect(down.tracking.getRun('x')).rejects.toThrow(
      `cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED): start the local platform with \`mlops start\``,
    );
    await expect(registry.getModel(unique('missing'))).rejects.toThrow(/RESOURCE_DOES_NOT_EXIST/);
  });

  it('retries a create whose answer was lost and gets the first run back, not a second one', async () => {
    const exp = await tracking.getOrCreateExperiment(unique('lost'));
    // In front of the API: the first runs/create reaches it, but its answer is replaced by a 503.
    let lost = 0;
    const proxy = createHttpServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
      ) as Record<string, string>;
      const answer = await fetch(`${apiUrl}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      if (req.url?.endsWith('/runs/create') && lost++ === 0) {
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"error_code":"TEMPORARILY_UNAVAILABLE","message":"lost"}');
        return;
      }
      res
        .writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/json',
        })
        .end(body);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    try {
      const { port } = proxy.address() as AddressInfo;
      const flaky = createMlflowClient({ apiUrl: `http://127.0.0.1:${port}` });
      const run = await flaky.tracking.createRun({ experimentId: exp, runName: 'once' });
      const second = await flaky.tracking.createRun({ experimentId: exp, runName: 'once' });
      expect(lost).toBe(3);
      const ids = (await tracking.searchRuns({ experimentIds: [exp] })).map((r) => r.info.run_id);
      // The retried call is one run; the next call, same body, is another (MLflow's behaviour).
      expect(ids.sort()).toEqual([run.info.run_id, second.info.run_id].sort());
      expect(second.info.run_id).not.toBe(run.info.run_id);
    } finally {
      await new Promise((ok) => proxy.close(ok));
    }
  });
});
