import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ReliabilityEnv,
  reliabilityTemplate,
  startReliabilityEnv,
} from '../../bench/reliability/environment';
import { formatFinding, runHostileSuite } from '../../bench/reliability/hostile';
import { routeCatalogue } from '../../bench/reliability/routes';
import { reliabilityScale } from '../../bench/reliability/scale';
import { diffState } from '../../bench/reliability/state';
import { closeWire } from '../../bench/reliability/wire';
import { readTemplate } from '../../local/template';

// Hostile inputs against every route of the synthesized template, on a platform of this
// file's own (other suites' writes would blur the state checks). Sizes: see scale.ts.
const scale = reliabilityScale();
const template = reliabilityTemplate();
const { routes, unknown } = routeCatalogue(readTemplate(template));

let env: ReliabilityEnv;
beforeAll(async () => {
  env = await startReliabilityEnv({ template });
}, 600_000); // Seeding trains, registers and deploys a model: minutes on a loaded machine.
afterAll(async () => {
  closeWire();
  await env?.stop();
});

describe('the hostile-input suite', () => {
  it('knows the spec of every route the template deploys', () => {
    expect(unknown, 'template routes without a spec in bench/reliability/routes.ts').toEqual([]);
    expect(routes.length).toBeGreaterThan(50);
  });

  it('sees a write that a request left behind, and puts the seeded state back', async () => {
    const table = env.runtime.plan.tables.find((t) => t.localName === 'tracking');
    if (!table) throw new Error('the template has no tracking table');
    const before = await env.probe.capture();
    const keys = (table.properties.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName);
    await env.dynamo.send(
      new PutItemCommand({
        TableName: 'tracking',
        Item: Object.fromEntries(keys.map((k) => [k, { S: `stray-${k}` }])),
      }),
    );
    const after = await env.probe.capture();
    expect(diffState(before, after)).toEqual([expect.stringMatching(/^tracking: added .*stray-/)]);
    await env.probe.restore(env.seeded);
    expect(diffState(env.seeded, await env.probe.capture())).toEqual([]);
  });

  it('sees the serving alias that a rollback moves, and moves it back to the deployed version', async () => {
    const model = encodeURIComponent(env.seeds.modelName);
    const status = async () => {
      const answer = (await (await fetch(`${env.url}/v1/deployments/${model}`)).json()) as {
        live: { model_version?: string };
      };
      return answer.live;
    };
    expect(await status()).toMatchObject({ model_version: env.seeds.modelVersion });
    const before = await env.probe.capture();
    const res = await fetch(`${env.url}/v1/deployments/${model}/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'probe check' }),
    });
    expect(res.status).toBe(200);
    expect((await status()).model_version).toBeUndefined();
    expect(diffState(before, await env.probe.capture())).toContainEqual(
      expect.stringMatching(/^lambda \S+ alias live: changed /),
    );
    await env.probe.restore(env.seeded);
    expect(diffState(env.seeded, await env.probe.capture())).toEqual([]);
    expect(await status()).toMatchObject({ model_version: env.seeds.modelVersion });
  });
});

describe.each(routes.map((r) => [r.id]))('%s', (id) => {
  it('answers every hostile request with a 2xx or a 4xx error, and a rejected one writes nothing', async () => {
    const report = await runHostileSuite(env, {
      routeId: id,
      generatedPerRoute: scale.generatedPerRoute,
      seed: scale.seed,
      heavy: scale.name === 'full',
    });
    const route = report.routes[0];
    expect(route?.skipped, route?.skipped).toBeUndefined();
    expect(route?.cases).toBeGreaterThan(40);
    const findings = route?.findings ?? [];
    expect(findings.length, `\n${findings.map(formatFinding).join('\n\n')}\n`).toBe(0);
  }, 600_000);
});
