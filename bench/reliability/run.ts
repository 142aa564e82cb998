import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReliabilityEnv } from './environment';
import { formatFinding, type HostileReport, runHostileSuite } from './hostile';
import { type LoadReport, runLoad } from './load';
import { reliabilityScale } from './scale';
import { closeWire } from './wire';

/**
 * `npm run reliability`: the hostile-input suite over every route, the mixed load with
 * read-back, and the fault suite, on one local platform of its own. Prints a table,
 * writes `bench/results/reliability.json`, and exits non-zero on any 5xx, lost,
 * duplicated or ghost record (or a hostile-input finding).
 *
 * Sizes: MLOPS_RELIABILITY_SCALE=ci|full (see scale.ts).
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(here, '..', 'results', 'reliability.json');

/** What the fault suite (bench/reliability/faults.ts, built beside this) reports. */
export interface FaultReport {
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly ghosts: number;
  readonly wedged: number;
}

/**
 * Integration point with the fault suite: loaded only if faults.ts exists, so this
 * report runs (and says "not available") before that suite lands.
 */
async function runFaults(cycles: number): Promise<FaultReport | 'not available'> {
  const file = join(here, 'faults.ts');
  if (!existsSync(file)) return 'not available';
  const mod = (await import(file)) as { runFaultSuite?: (o: { cycles: number }) => Promise<FaultReport> };
  if (typeof mod.runFaultSuite !== 'function') return 'not available';
  return mod.runFaultSuite({ cycles });
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const ms = (n: number) => n.toFixed(1);

async function main(): Promise<number> {
  const scale = reliabilityScale();
  const log = (m: string) => console.log(`  ${m}`);
  console.log(`reliability (${scale.name}): starting a local platform of its own`);
  const env = await startReliabilityEnv({ onProgress: log });
  let hostile: HostileReport;
  let load: LoadReport;
  try {
    console.log(`hostile inputs: corpus + ${scale.generatedPerRoute} generated cases per route`);
    hostile = await runHostileSuite(env, {
      generatedPerRoute: scale.generatedPerRoute,
      seed: scale.seed,
      heavy: scale.name === 'full',
      onProgress: log,
    });
    await env.probe.restore(env.seeded);
    load = await runLoad(env, {
      seconds: scale.loadSeconds,
      maxRequests: scale.loadMaxRequests,
      connections: scale.loadConnections,
      onProgress: log,
    });
  } finally {
    closeWire();
    await env.stop();
  }
  console.log(`faults: ${scale.faultCycles} cycles`);
  const faults = await runFaults(scale.faultCycles).catch((err: Error) => {
    console.error(`fault suite failed: ${err.stack ?? err.message}`);
    return 'failed' as const;
  });

  const findings = hostile.routes.flatMap((r) => r.findings);
  console.log('\nHostile inputs per route');
  console.log(
    table(
      ['route', 'cases', '2xx', '4xx', 'findings', 'seconds'],
      hostile.routes.map((r) => [
        r.route,
        r.cases,
        r.answered2xx,
        r.answered4xx,
        r.skipped ? `skipped: ${r.skipped}` : r.findings.length,
        (r.ms / 1000).toFixed(1),
      ]),
    ),
  );
  if (hostile.unknownRoutes.length)
    console.log(`routes without a known spec: ${hostile.unknownRoutes.join(', ')}`);
  for (const f of findings) console.log(`\n${formatFinding(f)}`);

  console.log(
    `\nLoad (${load.seconds.toFixed(1)} s, ${load.requests} requests, ${load.rps.toFixed(0)} req/s)`,
  );
  console.log(
    table(
      ['route', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', '5xx', 'errors', 'wrong'],
      load.routes.map((r) => [
        r.route,
        r.requests,
        r.rps.toFixed(0),
        ms(r.p50Ms),
        ms(r.p99Ms),
        r.non2xx,
        r.fiveXX,
        r.errors,
        r.wrongAnswers ?? '',
      ]),
    ),
  );
  console.log(
    `writes acknowledged ${load.acknowledged}, lost ${load.lost}, duplicated ${load.duplicated}, ghosts ${load.ghosts}`,
  );
  for (const p of load.problems) console.log(`  ${p}`);
  console.log(
    `\nFaults: ${typeof faults === 'string' ? faults : `acknowledged ${faults.acknowledged}, lost ${faults.lost}, duplicated ${faults.duplicated}, ghosts ${faults.ghosts}, wedged ${faults.wedged}`}`,
  );

  const fiveXX = load.fiveXX + findings.filter((f) => f.kind === '5xx').length;
  const lost = load.lost + (typeof faults === 'object' ? faults.lost : 0);
  const duplicated = load.duplicated + (typeof faults === 'object' ? faults.duplicated : 0);
  const ghosts = load.ghosts + (typeof faults === 'object' ? faults.ghosts : 0);
  const failures = [
    fiveXX && `${fiveXX} 5xx`,
    lost && `${lost} lost`,
    duplicated && `${duplicated} duplicated`,
    ghosts && `${ghosts} ghosts`,
    load.errors && `${load.errors} load requests without an answer`,
    load.wrongAnswers && `${load.wrongAnswers} predictions answered differently under load`,
    findings.length && `${findings.length} hostile-input findings`,
    hostile.unknownRoutes.length && `${hostile.unknownRoutes.length} routes without a known spec`,
    faults === 'failed' && 'the fault suite failed',
    typeof faults === 'object' && faults.wedged && `${faults.wedged} wedged`,
  ].filter(Boolean);

  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify(
      {
        scale,
        at: new Date().toISOString(),
        hostile: {
          seed: hostile.seed,
          seconds: hostile.ms / 1000,
          cases: hostile.routes.reduce((n, r) => n + r.cases, 0),
          routes: hostile.routes.map(({ findings: f, ...r }) => ({ ...r, findings: f.length })),
          unknownRoutes: hostile.unknownRoutes,
          findings,
        },
        load,
        faults,
        totals: { fiveXX, lost, duplicated, ghosts },
        pass: failures.length === 0,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${RESULTS}`);
  if (failures.length) {
    console.log(`FAIL: ${failures.join(', ')}`);
    return 1;
  }
  console.log('PASS');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
