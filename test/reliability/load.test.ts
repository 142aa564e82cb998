import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReliabilityEnv, startReliabilityEnv } from '../../bench/reliability/environment';
import { runLoad } from '../../bench/reliability/load';
import { reliabilityScale } from '../../bench/reliability/scale';

// The mixed load on a platform of this file's own: every acknowledged write is read back.
const scale = reliabilityScale();

let env: ReliabilityEnv;
beforeAll(async () => {
  env = await startReliabilityEnv();
}, 600_000); // Seeding trains, registers and deploys a model: minutes on a loaded machine.
afterAll(async () => {
  await env?.stop();
});

describe('the platform under mixed load', () => {
  it('answers writes, searches, online reads and predictions without a 5xx, keeps every acknowledged write once, and scores every prediction alike', async () => {
    const report = await runLoad(env, {
      seconds: scale.loadSeconds,
      maxRequests: scale.loadMaxRequests,
      connections: scale.loadConnections,
    });
    const summary = JSON.stringify({ routes: report.routes, problems: report.problems }, null, 1);
    for (const r of report.routes)
      expect(r.requests, `${r.route} sent nothing: ${summary}`).toBeGreaterThan(0);
    expect(report.fiveXX, summary).toBe(0);
    // The deployed model answers every prediction (v1 rows and v2 tensors), the same as before the load.
    const predictions = report.routes.filter((r) => r.wrongAnswers !== undefined);
    expect(predictions.map((r) => r.route)).toEqual([
      'POST v1/models/{name}/predict',
      'POST v2/models/{name}/infer',
    ]);
    for (const r of predictions)
      expect({ route: r.route, non2xx: r.non2xx }, summary).toEqual({ route: r.route, non2xx: 0 });
    expect(report.wrongAnswers, summary).toBe(0);
    expect(report.errors, summary).toBe(0);
    expect(report.acknowledged, summary).toBeGreaterThan(0);
    expect({ lost: report.lost, duplicated: report.duplicated, ghosts: report.ghosts }, summary).toEqual({
      lost: 0,
      duplicated: 0,
      ghosts: 0,
    });
  }, 300_000);
});
