import fc from 'fast-check';
import { servingRoutes } from '../../lambdas/serving/api/routes';
import { startBatchScoringRoute } from '../../lambdas/serving/batch/routes';
import {
  deploymentStatusRoute,
  rollbackRoute,
  startDeploymentRoute,
} from '../../lambdas/serving/deploy/routes';
import { type ReliabilityEnv, SENTINEL } from './environment';
import {
  corpus,
  type HostileCase,
  type Mutation,
  mutatedCase,
  mutationArbitrary,
  routeArbitrary,
} from './hostile-cases';
import { type CatalogRoute, routeCatalogue } from './routes';
import { diffState, type StateSnapshot } from './state';
import { describeRequest, send, type WireAnswer } from './wire';

/** What broke a rule, with the request that did it and the answer it got. */
export interface Finding {
  readonly route: string;
  readonly kind:
    | '5xx'
    | 'no-answer'
    | 'no-error-code'
    | 'wrote-on-reject'
    | 'wrote-outside-store'
    | 'sentinel-served'
    | 'unexpected-status'
    | 'unexpected-effect';
  readonly label: string;
  readonly request: string;
  readonly answer: string;
  readonly changes?: readonly string[];
  /** Set for generated cases: the shrunk counterexample as fast-check printed it. */
  readonly counterexample?: string;
}

export interface RouteReport {
  readonly route: string;
  readonly cases: number;
  readonly answered2xx: number;
  readonly answered4xx: number;
  readonly findings: Finding[];
  readonly ms: number;
  /** Why the route was not (fully) run. */
  readonly skipped?: string;
}

export interface HostileOptions {
  /** Generated (fast-check) cases per route, on top of the fixed corpus. */
  readonly generatedPerRoute: number;
  readonly seed: number;
  /** Only routes whose id contains one of these. */
  readonly routeFilter?: readonly string[];
  /** Only the route with exactly this id (`POST /api/2.0/mlflow/runs/log-batch`). */
  readonly routeId?: string;
  /** Full-size corpus (100k-element arrays). @default true */
  readonly heavy?: boolean;
  readonly onProgress?: (message: string) => void;
}

export interface HostileReport {
  readonly routes: RouteReport[];
  /** Template routes the suite has no spec for. */
  readonly unknownRoutes: string[];
  readonly seed: number;
  readonly ms: number;
}

class FindingError extends Error {
  constructor(readonly finding: Finding) {
    super(`${finding.kind}: ${finding.request} -> ${finding.answer}`);
  }
}

function describeAnswer(a: WireAnswer): string {
  const text = a.body.toString('utf8');
  return `${a.status} ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
}

function errorCodeOf(a: WireAnswer): string | undefined {
  try {
    const body = JSON.parse(a.body.toString('utf8'));
    return typeof body?.error_code === 'string' && typeof body?.message === 'string'
      ? body.error_code
      : undefined;
  } catch {
    return undefined;
  }
}

const PREDICTION_LOGGED = 'file changed: data/logs/predictions.jsonl';
const SERVING_SPECS: ReadonlySet<unknown> = new Set(servingRoutes);

/**
 * What an accepted (2xx) request of a serving or deployment route may change; undefined
 * for the other routes, whose accepted writes are not judged. Serving only logs what it
 * scored. A rollback moves the alias back and records itself on the model version. The
 * seeded platform's only version is live, so no deployment start can be accepted: one
 * that was would start a workflow whose later writes no check could tell apart from a
 * rejected request's (and may bake for a day).
 */
function acceptedEffects(
  route: CatalogRoute,
  env: ReliabilityEnv,
): ((change: string) => boolean) | 'never' | undefined {
  // The prediction log, and the copies its subscribers (the shipper) store from it.
  const { tables, buckets } = env.logSubscribers;
  if (SERVING_SPECS.has(route.spec))
    return (ch) =>
      ch === PREDICTION_LOGGED ||
      tables.some((t) => ch.startsWith(`${t}: added `)) ||
      buckets.some((b) => ch.startsWith(`file added: data/s3/${b}/`));
  if (route.spec === deploymentStatusRoute) return () => false;
  if (route.spec === rollbackRoute)
    return (ch) => /^lambda \S+ alias live: changed /.test(ch) || ch.startsWith('tracking: ');
  if (route.spec === startDeploymentRoute) return 'never';
  // Likewise a batch-scoring job: the suite's store holds no input for one to score.
  if (route.spec === startBatchScoringRoute) return 'never';
  return undefined;
}

/**
 * Sends one case and judges the answer: 2xx, or 4xx with `{error_code, message}`; never
 * 5xx or silence; a rejected request leaves the state as it was, and an accepted one of a
 * serving or deployment route changes only what it should; nothing is ever written
 * outside the object store, and no answer carries the sentinel planted beside it.
 */
class CaseRunner {
  private current: StateSnapshot | undefined;
  answered2xx = 0;
  answered4xx = 0;
  cases = 0;
  consecutiveSilence = 0;

  constructor(
    private readonly env: ReliabilityEnv,
    private readonly route: CatalogRoute,
  ) {}

  async begin(): Promise<void> {
    await this.env.settle();
    this.current = await this.env.probe.capture();
  }

  async run(c: HostileCase): Promise<Finding | undefined> {
    const before = this.current ?? (await this.env.probe.capture());
    this.cases++;
    const finding = (kind: Finding['kind'], answer: string, changes?: string[]): Finding => ({
      route: this.route.id,
      kind,
      label: c.label,
      request: describeRequest(c.request),
      answer,
      changes,
    });
    let answer: WireAnswer;
    try {
      answer = await send(this.env.url, c.request, (this.route.timeoutSeconds + 10) * 1000);
    } catch (err) {
      this.consecutiveSilence++;
      await this.env.settle();
      this.current = await this.env.probe.capture();
      return finding('no-answer', (err as Error).message);
    }
    await this.env.settle();
    const after = await this.env.probe.capture();
    this.current = after;
    const changes = diffState(before, after, 32);
    const s = answer.status;
    if (s >= 500) {
      if (s === 504 || s === 502) this.consecutiveSilence++;
      return finding('5xx', describeAnswer(answer), changes.length ? changes : undefined);
    }
    this.consecutiveSilence = 0;
    // The runtime keeps everything under its data dir; the sandbox around it holds only
    // the sentinel that traversal aims at.
    const outside = changes.filter((ch) => ch.startsWith('file') && !ch.includes(' data/'));
    if (outside.length) return finding('wrote-outside-store', describeAnswer(answer), outside);
    if (answer.body.includes(SENTINEL)) return finding('sentinel-served', describeAnswer(answer));
    if (s >= 400 && s < 500) {
      this.answered4xx++;
      // Node's HTTP parser answers oversized or malformed heads itself, before the gateway
      // (API Gateway has its own such limits): a bare 4xx there is not ours to judge.
      const protocol = c.protocol || headBytes(c) > NODE_MAX_HEADER_BYTES;
      if (!protocol && !errorCodeOf(answer)) return finding('no-error-code', describeAnswer(answer));
      if (changes.length) return finding('wrote-on-reject', describeAnswer(answer), changes);
      return undefined;
    }
    if (s >= 200 && s < 300) {
      this.answered2xx++;
      const allowed = acceptedEffects(this.route, this.env);
      if (allowed === 'never') return finding('unexpected-status', describeAnswer(answer), changes);
      const unexpected = allowed ? changes.filter((ch) => !allowed(ch)) : [];
      if (unexpected.length) return finding('unexpected-effect', describeAnswer(answer), unexpected);
      if (c.traversal) {
        const root = `data/s3/artifacts/artifacts/${this.env.seeds.artifactRoot}/`;
        const stray = changes.filter(
          (ch) => ch.includes(' data/s3/') && !ch.includes(` ${root}`) && !ch.includes(' data/s3/.tmp/'),
        );
        if (stray.length) return finding('wrote-outside-store', describeAnswer(answer), stray);
      }
      return undefined;
    }
    return finding('unexpected-status', describeAnswer(answer));
  }
}

/** Node's default `--max-http-header-size`: request line and headers together. */
const NODE_MAX_HEADER_BYTES = 16 * 1024;

function headBytes(c: HostileCase): number {
  const r = c.request;
  return (
    r.path.length + r.query.length + r.headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + 64
  );
}

/** Functions that stopped answering; their other routes are skipped, not timed out one by one. */
const WEDGE_AFTER = 2;

/**
 * Runs the hostile suite over every route of the environment's template: the fixed
 * corpus, then `generatedPerRoute` fast-check cases (schema-valid inputs with hostile
 * mutations), shrinking the first failing one to a minimal counterexample. The state is
 * put back to the seed before each route, so the state checks stay cheap and each
 * route starts from the same records.
 */
export async function runHostileSuite(env: ReliabilityEnv, options: HostileOptions): Promise<HostileReport> {
  const started = Date.now();
  const { routes, unknown } = routeCatalogue(env.runtime.plan);
  const selected = routes.filter(
    (r) =>
      (!options.routeFilter || options.routeFilter.some((f) => r.id.includes(f))) &&
      (!options.routeId || r.id === options.routeId),
  );
  const wedged = new Map<string, string>();
  const reports: RouteReport[] = [];
  for (const [i, route] of selected.entries()) {
    const t0 = Date.now();
    const why = wedged.get(route.functionId);
    if (why) {
      reports.push({
        route: route.id,
        cases: 0,
        answered2xx: 0,
        answered4xx: 0,
        findings: [],
        ms: 0,
        skipped: why,
      });
      continue;
    }
    await env.settle();
    await env.probe.restore(env.seeded);
    const runner = new CaseRunner(env, route);
    await runner.begin();
    const findings: Finding[] = [];
    let skipped: string | undefined;
    const stopIfWedged = () => {
      if (runner.consecutiveSilence < WEDGE_AFTER) return false;
      skipped = `${route.functionId} stopped answering while ${route.id} ran`;
      wedged.set(route.functionId, skipped);
      return true;
    };
    for (const c of corpus(route, env.seeds, options.heavy ?? true)) {
      const f = await runner.run(c);
      if (f) findings.push(f);
      if (stopIfWedged()) break;
    }
    if (!skipped && options.generatedPerRoute > 0) {
      const arb = fc.limitShrink(
        fc.record({
          input: routeArbitrary(route, env.seeds),
          mutations: fc.array(mutationArbitrary(route, env.seeds), { maxLength: 2 }),
        }),
        40,
      );
      const result = await fc.check(
        fc.asyncProperty(arb, async ({ input, mutations }) => {
          if (skipped) return;
          const f = await runner.run(mutatedCase(route, input, mutations as Mutation[]));
          if (stopIfWedged()) return;
          if (f) throw new FindingError(f);
        }),
        { numRuns: options.generatedPerRoute, seed: options.seed + i },
      );
      if (result.failed && result.errorInstance instanceof FindingError) {
        findings.push({
          ...result.errorInstance.finding,
          counterexample: `${fc.stringify(result.counterexample)} (seed ${options.seed + i}, ${result.numShrinks} shrinks)`,
        });
      } else if (result.failed) {
        findings.push({
          route: route.id,
          kind: '5xx',
          label: 'suite error',
          request: fc.stringify(result.counterexample),
          answer: String(result.errorInstance),
        });
      }
    }
    reports.push({
      route: route.id,
      cases: runner.cases,
      answered2xx: runner.answered2xx,
      answered4xx: runner.answered4xx,
      findings: dedupe(findings),
      ms: Date.now() - t0,
      skipped,
    });
    options.onProgress?.(
      `${route.id}: ${runner.cases} cases, ${findings.length} finding(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return { routes: reports, unknownRoutes: unknown, seed: options.seed, ms: Date.now() - started };
}

/** One finding per kind and answer status/code: a thousand copies of one bug are one bug. */
function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.kind} ${f.answer.split(' ')[0]} ${/"error_code":"(\w+)"/.exec(f.answer)?.[1] ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A finding as a few readable lines (failure messages, FINDINGS.md). */
export function formatFinding(f: Finding): string {
  const lines = [`[${f.kind}] ${f.route} (${f.label})`, `  request: ${f.request}`, `  answer:  ${f.answer}`];
  if (f.changes?.length) lines.push(`  state changes: ${f.changes.join('; ')}`);
  if (f.counterexample) lines.push(`  counterexample: ${f.counterexample.slice(0, 600)}`);
  return lines.join('\n');
}
