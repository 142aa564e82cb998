import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReliabilityEnv, startReliabilityEnv } from '../../bench/reliability/environment';
import { runLoad } from '../../bench/reliability/load';
import { reliabilityScale } from '../../bench/reliability/scale';

// The mixed load on a platform of this file's own: every acknowledged write is read back.
const scale = reliabilityScale();

let env: ReliabilityEnv;
beforeAll(async () => {
  env = await startReliabilityEnv();
}, 300_000);
afterAll(async () => {
  await env?.stop();
});

describe('the platform under mixed load', () => {
  it('answers writes, searches and online reads without a 5xx, and keeps every acknowledged write once', async () => {
    const report = await runLoad(env, {
      seconds: scale.loadSeconds,
      maxRequests: scale.loadMaxRequests,
      connections: scale.loadConnections,
    });
    const summary = JSON.stringify({ routes: report.routes, problems: report.problems }, null, 1);
    for (const r of report.routes)
      expect(r.requests, `${r.route} sent nothing: ${summary}`).toBeGreaterThan(0);
    expect(report.fiveXX, summary).toBe(0);
    expect(report.errors, summary).toBe(0);
    expect(report.acknowledged, summary).toBeGreaterThan(0);
    expect({ lost: report.lost, duplicated: report.duplicated, ghosts: report.ghosts }, summary).toEqual({
      lost: 0,
      duplicated: 0,
      ghosts: 0,
    });
  }, 300_000);
});
