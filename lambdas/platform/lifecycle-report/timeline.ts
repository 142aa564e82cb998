/** Something that happened to a deployment, at a time. */
export interface TimelineMark {
  readonly at: number;
  /** Model version label (`v3`). */
  readonly version: string;
  readonly kind: 'start' | 'step' | 'promoted' | 'rollback' | 'refused';
  /** Traffic after a step. */
  readonly percent?: number;
  /** Why it was rolled back or refused. */
  readonly reason?: string;
}

/** The live alias's traffic share per version (percent) from `at` until the next point. */
export interface TimelinePoint {
  readonly at: number;
  readonly weights: Readonly<Record<string, number>>;
}

export interface TrafficTimeline {
  /** Versions in the order they first took traffic. */
  readonly versions: string[];
  readonly points: TimelinePoint[];
  readonly marks: TimelineMark[];
}

/** `10%@2026-...,50%@2026-...`: the steps a canary took, as the workflow records them. */
export function parseSteps(steps: string | undefined): { percent: number; at: number }[] {
  if (!steps) return [];
  return steps
    .split(',')
    .map((s) => /^(\d+(?:\.\d+)?)%@(.+)$/.exec(s.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ percent: Number(m[1]), at: Date.parse(m[2] as string) }))
    .filter((s) => Number.isFinite(s.at));
}

const time = (s: string | undefined) => (s ? Date.parse(s) : Number.NaN);

function sameWeights(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

/**
 * The traffic of the live alias over time, rebuilt from the deployment records (the
 * `mlops.deployment.*` tags `GET /v1/deployments/{model}` answers): each canary starts at 0%,
 * takes its recorded steps from the version it replaces, owns the alias at 100%, and a
 * rollback hands everything back to the Lambda version it replaced. A Lambda version no record
 * names (the template's first) is labelled by its Lambda version.
 *
 * @example
 * const t = trafficTimeline([{ version: '1', lambda_version: '2', previous_lambda_version: '1', started_at: '...', steps: '50%@...,100%@...' }]);
 */
export function trafficTimeline(records: readonly Record<string, string>[]): TrafficTimeline {
  const byLambda = new Map<string, string>();
  for (const r of records) if (r.lambda_version && r.version) byLambda.set(r.lambda_version, `v${r.version}`);
  const label = (lambdaVersion: string | undefined) =>
    lambdaVersion === undefined
      ? 'before'
      : (byLambda.get(lambdaVersion) ?? `Lambda version ${lambdaVersion}`);

  type Event = { at: number; order: number; apply: () => void; mark: TimelineMark };
  const events: Event[] = [];
  let primary: string | undefined;
  let canary: { version: string; percent: number } | undefined;
  records.forEach((r, i) => {
    const v = `v${r.version}`;
    const add = (at: number, mark: Omit<TimelineMark, 'at' | 'version'>, apply: () => void) => {
      if (Number.isFinite(at)) events.push({ at, order: i, apply, mark: { at, version: v, ...mark } });
    };
    add(time(r.started_at), { kind: 'start' }, () => {
      primary = label(r.previous_lambda_version);
      canary = { version: v, percent: 0 };
    });
    for (const s of parseSteps(r.steps)) {
      add(s.at, { kind: 'step', percent: s.percent }, () => {
        if (s.percent >= 100) {
          primary = v;
          canary = undefined;
        } else canary = { version: v, percent: s.percent };
      });
    }
    add(time(r.promoted_at), { kind: 'promoted' }, () => {
      primary = v;
      canary = undefined;
    });
    add(time(r.rolled_back_at), { kind: 'rollback', reason: r.rollback_reason ?? '' }, () => {
      primary = label(r.previous_lambda_version);
      canary = undefined;
    });
    add(time(r.refused_at), { kind: 'refused', reason: r.refusal_reason ?? '' }, () => {
      if (canary?.version === v) canary = undefined;
    });
  });
  events.sort((a, b) => a.at - b.at || a.order - b.order);

  const versions: string[] = [];
  const points: TimelinePoint[] = [];
  for (const e of events) {
    e.apply();
    const weights: Record<string, number> = {};
    if (primary !== undefined) weights[primary] = 100 - (canary?.percent ?? 0);
    if (canary && canary.percent > 0) weights[canary.version] = canary.percent;
    for (const k of Object.keys(weights)) if (!versions.includes(k)) versions.push(k);
    const last = points[points.length - 1];
    // Only changes make points: a promotion after the 100% step, or a start, moves nothing.
    if (last && sameWeights(last.weights, weights)) continue;
    if (last && last.at === e.at) points[points.length - 1] = { at: e.at, weights };
    else points.push({ at: e.at, weights });
  }
  // A version that never carried traffic (refused at the gate) still gets its line and mark.
  for (const e of events) if (!versions.includes(e.mark.version)) versions.push(e.mark.version);
  return { versions, points, marks: events.map((e) => e.mark) };
}
