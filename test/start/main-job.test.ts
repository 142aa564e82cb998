import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli';
import { runStory, type StoryResult } from '../../local/story/story';

// The main job (`npm start`) at a small size, on one data dir: a run that fails on purpose,
// then the whole story twice in a row on what the earlier runs left.
const dataDir = mkdtempSync(join(tmpdir(), 'mlops-main-job-'));
const SMALL = { users: 300, days: 120, seed: 7, trials: 2 } as const;

/** Collects what the story prints (shown when an assertion fails). */
function sink(): { out: Writable; text: () => string } {
  let text = '';
  return {
    out: new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    }),
    text: () => text,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
async function get(url: string): Promise<any> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return res.json();
}

let first: StoryResult | undefined;

// A failed assertion leaves the kept runtime open: stop it so the next test can open the data dir.
afterEach(async () => {
  first?.stopEvents?.();
  await first?.runtime?.stop();
  first = undefined;
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('exits non-zero and names the step that failed', async () => {
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main([
        'node',
        'mlops',
        'start',
        '--data-dir',
        dataDir,
        '--users',
        String(SMALL.users),
        '--days',
        String(SMALL.days),
        '--fail-at',
        'train v1 (pipeline: logistic baseline)',
      ]);
    } finally {
      process.stdout.write = write;
      process.exitCode = undefined;
    }
    const text = printed.join('');
    expect(code, text).toBe(1);
    expect(text).toContain("FAILED at step 'train v1 (pipeline: logistic baseline)'");
    // The steps before it ran; none after it did.
    expect(text).toMatch(/✓ bad batch quarantined/);
    expect(text).not.toContain('deploy v1 through the canary  (');
  }, 600_000);

  it('plays the whole lifecycle, each outcome checked against the platform', async () => {
    const { out, text } = sink();
    first = await runStory({ dataDir, ...SMALL, out, keep: true });
    if (!first.ok) {
      // Free the data dir for the next test before failing this one.
      first.stopEvents?.();
      await first.runtime?.stop();
      first = undefined;
      expect.fail(text());
    }
    expect(first.dataDirMode).toBe('reused');
    const rt = first.runtime!;
    const f = first.facts;
    const model = f.model;

    // The bad batch was quarantined, with its report where the story said.
    expect(f.quarantine?.reason).toMatch(/amount|channel/);
    expect(existsSync(f.quarantine!.reportPath)).toBe(true);
    expect(readFileSync(f.quarantine!.reportPath, 'utf8')).toMatch(/quarantined|failed|passed/i);

    // Registered versions and the ones promoted to Production, as the registry has them.
    const { v1, v2, retrained, broken } = f.versions;
    expect([v1, v2, retrained, broken].every(Boolean)).toBe(true);
    const stage = async (v: string) =>
      (await get(`${rt.url}/api/2.0/mlflow/model-versions/get?name=${model}&version=${v}`)).model_version
        .current_stage;
    expect(await stage(retrained!)).toBe('Production');
    expect(f.production).toContain(v1);
    expect(['Archived', 'Production']).toContain(await stage(v1!));

    // The canaries: v1 and the retrained version live after their traffic steps.
    const status = await get(`${rt.url}/v1/deployments/${model}`);
    const record = (v: string) => status.deployments.find((d: { version: string }) => d.version === v);
    expect(record(v1!), text()).toMatchObject({ status: 'live', traffic: '100' });
    expect(record(v1!).steps).toMatch(/^10%@[^,]+,50%@[^,]+,100%@/);
    expect(record(retrained!)).toMatchObject({ status: 'live', traffic: '100' });

    // The A/B verdict is the analysis's own decision.
    const analysis = await get(`${rt.url}/v1/experiments/${f.experiment!.id}/analysis?mde=0.1`);
    expect(['promote', 'stop', 'keep_running']).toContain(f.experiment!.decision);
    expect(analysis.comparisons[0].decision).toBe(f.experiment!.decision);

    // The drift alarm fired, notified the alert topic, and the event rule started the retraining.
    expect(f.drift!.alarm).toMatch(/DriftAlarm/);
    const notices = readFileSync(join(rt.dataDir, 'events', 'notifications.jsonl'), 'utf8');
    expect(notices).toContain(`ALARM: \\"${f.drift!.alarm}\\"`);
    expect(f.retraining!.execution).toMatch(/^event-DriftDetected-/);
    const execution = rt.stepFunctions.describe('TrainingPipeline', f.retraining!.execution);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.input).toMatchObject({ trigger: 'drift' });
    expect(f.retraining!.registered).toBe(retrained);

    // The broken candidate was rolled back by its canary's error alarm; the retrained version serves.
    expect(record(broken!)).toMatchObject({ status: 'rolled_back', traffic: '0' });
    expect(record(broken!).rollback_reason).toMatch(/ErrorRate/);
    expect(status.live.model_version).toBe(retrained);
    expect(status.live.weights).toEqual({});

    // One HTML report, where the story printed it.
    expect(first.report).toBe(join(rt.dataDir, 'reports', 'lifecycle.html'));
    expect(readFileSync(first.report!, 'utf8')).toMatch(/<html/i);
    expect(first.steps.map((s) => s.ok)).not.toContain(false);
    first.stopEvents?.();
    await rt.stop();
    first = undefined;
  }, 900_000);

  it('runs again on the data dir the previous run left', async () => {
    const { out, text } = sink();
    const again = await runStory({ dataDir, ...SMALL, out });
    expect(again.ok, text()).toBe(true);
    expect(again.dataDirMode).toBe('reused');
    expect(text()).toMatch(/archived v\d+, Production in an earlier run/);
    expect(again.facts.rollback?.version).toBeTruthy();
  }, 900_000);
});
