import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublishedEvent } from '../lambdas/platform/events';
import { localEventLog } from '../lambdas/platform/file-events';
import { resolveValue } from './resources';
import type { LocalPlan } from './template';

// biome-ignore lint/suspicious/noExplicitAny: EMF records are JSON, read field by field
type JsonObject = Record<string, any>;

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** An `AWS::CloudWatch::Alarm` of the template on one metric, as the local runtime evaluates it. */
export interface LocalAlarm {
  readonly logicalId: string;
  /** `AlarmName` when the template sets one, else the logical id (what `Ref` resolves to locally). */
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** `Statistic` (Average, Sum, SampleCount, Minimum, Maximum) or `ExtendedStatistic` (p99, p99.9). */
  readonly statistic: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  readonly description: string;
}

/** Reads the template's single-metric alarms (metric math alarms are not evaluated locally). */
export function readAlarms(plan: LocalPlan): LocalAlarm[] {
  const out: LocalAlarm[] = [];
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    const p = r.Properties ?? {};
    if (!p.MetricName) continue;
    const str = (v: unknown) => resolveValue(v, plan) ?? '';
    const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
    out.push({
      logicalId: id,
      name: typeof p.AlarmName === 'string' ? p.AlarmName : id,
      namespace: str(p.Namespace),
      metricName: str(p.MetricName),
      dimensions: Object.fromEntries(
        ((p.Dimensions ?? []) as { Name: string; Value: unknown }[]).map((d) => [d.Name, str(d.Value)]),
      ),
      statistic: String(p.ExtendedStatistic ?? p.Statistic ?? 'Average'),
      periodSeconds: Number(p.Period ?? 60),
      evaluationPeriods,
      datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
      threshold: Number(p.Threshold),
      comparison: String(p.ComparisonOperator),
      treatMissingData: p.TreatMissingData ?? 'missing',
      alarmActions: ((p.AlarmActions ?? []) as unknown[]).map(str),
      okActions: ((p.OKActions ?? []) as unknown[]).map(str),
      description: typeof p.AlarmDescription === 'string' ? p.AlarmDescription : '',
    });
  }
  return out;
}

/** A parsed `AlarmRule` of a composite alarm. */
export type AlarmRule =
  | { readonly kind: 'state'; readonly state: AlarmState; readonly alarm: string }
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'not'; readonly rule: AlarmRule }
  | { readonly kind: 'and' | 'or'; readonly rules: readonly AlarmRule[] };

/** The alarm name an `AlarmRule` reference names: a name, or an alarm ARN (`...:alarm:<name>`). */
function ruleAlarmName(ref: string): string {
  const arn = /^arn:aws[a-z-]*:cloudwatch:[^:]*:[^:]*:alarm:(.+)$/.exec(ref);
  return arn ? (arn[1] as string) : ref;
}

/**
 * Parses a composite alarm's `AlarmRule` as CloudWatch writes it: `ALARM(x)`, `OK(x)`,
 * `INSUFFICIENT_DATA(x)` of an alarm name or ARN (quoted or not), `TRUE`, `FALSE`, `AND`,
 * `OR`, `NOT` and parentheses (NOT binds tighter than AND, AND tighter than OR).
 *
 * @example
 * parseAlarmRule('ALARM("errors") AND NOT OK(latency)');
 */
export function parseAlarmRule(text: string): AlarmRule {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`AlarmRule ${JSON.stringify(text)}: ${what} at position ${i}`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const word = (): string => {
    space();
    const m = /^[A-Za-z_]+/.exec(text.slice(i));
    return m ? (m[0] as string) : '';
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail(`expected '${c}'`);
    i++;
  };
  const ref = (): string => {
    space();
    if (text[i] === '"' || text[i] === "'") {
      const q = text[i] as string;
      const end = text.indexOf(q, i + 1);
      if (end < 0) fail('unterminated quote');
      const name = text.slice(i + 1, end);
      i = end + 1;
      return name;
    }
    const end = text.indexOf(')', i);
    if (end < 0) fail("expected ')'");
    const name = text.slice(i, end).trim();
    i = end;
    if (!name) fail('expected an alarm name');
    return name;
  };
  const primary = (): AlarmRule => {
    space();
    if (text[i] === '(') {
      i++;
      const r = or();
      expect(')');
      return r;
    }
    const w = word();
    const upper = w.toUpperCase();
    if (upper === 'TRUE' || upper === 'FALSE') {
      i += w.length;
      return { kind: 'const', value: upper === 'TRUE' };
    }
    if (upper === 'ALARM' || upper === 'OK' || upper === 'INSUFFICIENT_DATA') {
      i += w.length;
      expect('(');
      const alarm = ruleAlarmName(ref());
      expect(')');
      return { kind: 'state', state: upper as AlarmState, alarm };
    }
    return fail('expected ALARM(...), OK(...), INSUFFICIENT_DATA(...), TRUE, FALSE, NOT or (');
  };
  const not = (): AlarmRule => {
    const w = word();
    if (w.toUpperCase() === 'NOT') {
      i += w.length;
      return { kind: 'not', rule: not() };
    }
    return primary();
  };
  const chain = (op: 'AND' | 'OR', next: () => AlarmRule): AlarmRule => {
    const rules = [next()];
    for (;;) {
      const w = word();
      if (w.toUpperCase() !== op) break;
      i += w.length;
      rules.push(next());
    }
    return rules.length === 1 ? (rules[0] as AlarmRule) : { kind: op === 'AND' ? 'and' : 'or', rules };
  };
  const and = () => chain('AND', not);
  const or = () => chain('OR', and);
  const rule = or();
  space();
  if (i < text.length) fail('unexpected text');
  return rule;
}

/** The alarms a rule names. */
export function ruleAlarms(rule: AlarmRule): string[] {
  if (rule.kind === 'state') return [rule.alarm];
  if (rule.kind === 'not') return ruleAlarms(rule.rule);
  if (rule.kind === 'const') return [];
  return [...new Set(rule.rules.flatMap(ruleAlarms))];
}

/** Evaluates a rule over the alarms' current states (an unknown alarm is INSUFFICIENT_DATA). */
export function evaluateAlarmRule(rule: AlarmRule, stateOf: (alarm: string) => AlarmState): boolean {
  switch (rule.kind) {
    case 'state':
      return stateOf(rule.alarm) === rule.state;
    case 'const':
      return rule.value;
    case 'not':
      return !evaluateAlarmRule(rule.rule, stateOf);
    case 'and':
      return rule.rules.every((r) => evaluateAlarmRule(r, stateOf));
    case 'or':
      return rule.rules.some((r) => evaluateAlarmRule(r, stateOf));
  }
}

/** An `AWS::CloudWatch::CompositeAlarm` of the template. */
export interface LocalCompositeAlarm {
  readonly logicalId: string;
  readonly name: string;
  readonly ruleText: string;
  readonly rule: AlarmRule;
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  readonly description: string;
  readonly actionsEnabled: boolean;
}

const LOCAL_ALARM_ARN = 'arn:aws:cloudwatch:us-east-1:000000000000:alarm:';

/** An alarm's name by logical id (its `AlarmName`, else the logical id, as `readAlarms` names it). */
function alarmNameOf(plan: LocalPlan, id: string): string | undefined {
  const r = plan.template.Resources[id];
  if (r?.Type !== 'AWS::CloudWatch::Alarm' && r?.Type !== 'AWS::CloudWatch::CompositeAlarm') return undefined;
  return typeof r.Properties?.AlarmName === 'string' ? r.Properties.AlarmName : id;
}

/** Resolves an AlarmRule value: alarm ARNs (`Fn::GetAtt [alarm, Arn]`) become local alarm ARNs. */
function resolveRule(v: unknown, plan: LocalPlan): string | undefined {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const name = alarmNameOf(plan, getAtt[0] as string);
      if (name) return `${LOCAL_ALARM_ARN}${name}`;
    }
    if (typeof o.Ref === 'string') {
      const name = alarmNameOf(plan, o.Ref);
      if (name) return name;
    }
    const join = o['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      const parts = (join[1] as unknown[]).map((p) => resolveRule(p, plan));
      return parts.every((p) => p !== undefined) ? parts.join(String(join[0])) : undefined;
    }
  }
  return resolveValue(v, plan);
}

/** Reads the template's composite alarms; a rule naming an alarm the template lacks fails, as CloudFormation would. */
export function readCompositeAlarms(plan: LocalPlan): LocalCompositeAlarm[] {
  const out: LocalCompositeAlarm[] = [];
  const names = new Set(
    Object.keys(plan.template.Resources)
      .map((id) => alarmNameOf(plan, id))
      .filter(Boolean),
  );
  for (const [id, r] of Object.entries(plan.template.Resources)) {
    if (r.Type !== 'AWS::CloudWatch::CompositeAlarm') continue;
    const p = r.Properties ?? {};
    const ruleText = resolveRule(p.AlarmRule, plan);
    if (!ruleText) throw new Error(`composite alarm ${id}: its AlarmRule cannot be resolved locally`);
    const rule = parseAlarmRule(ruleText);
    const missing = ruleAlarms(rule).filter((a) => !names.has(a));
    if (missing.length)
      throw new Error(`composite alarm ${id}: its AlarmRule names unknown alarm(s) ${missing.join(', ')}`);
    const str = (v: unknown) => resolveValue(v, plan) ?? '';
    out.push({
      logicalId: id,
      name: typeof p.AlarmName === 'string' ? p.AlarmName : id,
      ruleText,
      rule,
      alarmActions: ((p.AlarmActions ?? []) as unknown[]).map(str),
      okActions: ((p.OKActions ?? []) as unknown[]).map(str),
      description: typeof p.AlarmDescription === 'string' ? p.AlarmDescription : '',
      actionsEnabled: p.ActionsEnabled !== false,
    });
  }
  return out;
}

export interface Sample {
  readonly t: number;
  readonly value: number;
}

/**
 * How long the local runtime keeps metric values whatever its alarms need: what CloudWatch's
 * GetMetricData answers locally (local/cloudwatch-api.ts), e.g. the monitoring API's request
 * metrics over the last hour.
 */
export const METRIC_HISTORY_MS = 3 * 3_600_000;
/** Every series is trimmed to the retention at most this often (not per value). */
const PRUNE_EVERY_MS = 60_000;

/**
 * Metrics read from embedded-metric-format records (`_aws.CloudWatchMetrics`), stored per
 * namespace, metric name and exact dimension set, as CloudWatch keys them. Each series is
 * kept in time order (a value is placed where its timestamp goes), so a range is found by
 * binary search; values older than the retention are dropped.
 */
export class MetricStore {
  private readonly series = new Map<string, Sample[]>();
  private latest = 0;
  private prunedAt = 0;

  constructor(private readonly retainMs: number) {}

  static key(namespace: string, name: string, dims: Readonly<Record<string, string>>): string {
    const d = Object.keys(dims)
      .sort()
      .map((k) => `${k}=${dims[k]}`)
      .join(',');
    return `${namespace}|${name}|${d}`;
  }

  /** Adds one EMF record; returns how many values it held. */
  addEmf(record: JsonObject): number {
    const aws = record._aws;
    const t = Number(aws?.Timestamp ?? Date.now());
    let n = 0;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const dimSet of (directive.Dimensions ?? [[]]) as string[][]) {
        const dims = Object.fromEntries(dimSet.map((d) => [d, String(record[d])]));
        for (const m of directive.Metrics ?? []) {
          const raw = record[m.Name];
          const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
          if (!values.length) continue;
          const key = MetricStore.key(String(directive.Namespace), String(m.Name), dims);
          let list = this.series.get(key);
          if (!list) {
            list = [];
            this.series.set(key, list);
          }
          // Lines of several functions may arrive slightly out of time order.
          let at = list.length;
          while (at > 0 && (list[at - 1] as Sample).t > t) at--;
          if (at === list.length) for (const value of values) list.push({ t, value });
          else list.splice(at, 0, ...values.map((value) => ({ t, value })));
          n += values.length;
        }
      }
    }
    if (t > this.latest) this.latest = t;
    if (this.latest - this.prunedAt > PRUNE_EVERY_MS) this.prune(this.latest);
    return n;
  }

  /** Drops values older than the retention from every series. */
  private prune(now: number): void {
    this.prunedAt = now;
    const cutoff = now - this.retainMs;
    for (const [key, list] of this.series) {
      const drop = lowerBound(list, cutoff);
      if (drop === list.length) this.series.delete(key);
      else if (drop) list.splice(0, drop);
    }
  }

  /** Values of a series in [from, to). */
  values(key: string, from: number, to: number): number[] {
    return this.samples(key, from, to).map((s) => s.value);
  }

  /** Timestamped values of a series in [from, to), in time order. */
  samples(key: string, from: number, to: number): Sample[] {
    const list = this.series.get(key);
    if (!list) return [];
    return list.slice(lowerBound(list, from), lowerBound(list, to));
  }
}

/** The first index whose time is at or after `t` (the list is in time order). */
function lowerBound(list: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Sample).t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function metricFiring(a: LocalAlarm): Firing {
  return {
    name: a.name,
    description: a.description,
    alarmActions: a.alarmActions,
    okActions: a.okActions,
    configuration: {
      description: a.description,
      metrics: [
        { metricStat: { metric: { namespace: a.namespace, name: a.metricName, dimensions: a.dimensions } } },
      ],
    },
  };
}

/** A statistic of values, as CloudWatch computes it (percentiles by nearest rank). */
export function statistic(name: string, values: readonly number[]): number | undefined {
  if (!values.length) return undefined;
  if (name === 'SampleCount') return values.length;
  if (name === 'Sum') return values.reduce((a, b) => a + b, 0);
  if (name === 'Average') return values.reduce((a, b) => a + b, 0) / values.length;
  if (name === 'Minimum') return Math.min(...values);
  if (name === 'Maximum') return Math.max(...values);
  const p = /^p(\d+(?:\.\d+)?)$/.exec(name);
  if (p) {
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.ceil((Number(p[1]) / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  }
  throw new Error(`alarm statistic ${name} is not evaluated locally`);
}

function breaches(comparison: string, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`alarm comparison ${comparison} is not evaluated locally`);
  }
}

interface AlarmStatus {
  state: AlarmState;
  reason: string;
  updated: string;
}

export interface LocalAlarmsOptions {
  /** Where SNS notices and alarm events are written (`<dataDir>/events/`). */
  readonly dataDir: string;
  /**
   * Multiplies every alarm period: tests run a 60 s period in 1 s with 1/60, as the state
   * machine runner shortens retry waits. @default 1
   */
  readonly timeScale?: number;
  readonly log?: (line: string) => void;
  /**
   * Runs an alarm's Lambda action (`arn:aws:lambda:...:function:<name>[:<qualifier>]`), as
   * CloudWatch invokes it: asynchronously, with the alarm's state-change event.
   * @default - Lambda actions are logged and not run
   */
  readonly invokeLambda?: (
    functionName: string,
    qualifier: string | undefined,
    event: unknown,
  ) => Promise<unknown>;
}

/** What firing needs of a metric or composite alarm. */
interface Firing {
  readonly name: string;
  readonly description: string;
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  /** `configuration` of the state-change event and the Lambda action's `alarmData`. */
  readonly configuration: Record<string, unknown>;
}

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]+:\d+:function:([^:]+)(?::([^:]+))?$/;

/**
 * The template's CloudWatch alarms evaluated on this machine: metrics come from the
 * embedded-metric-format lines functions write (their stdout, which the function host hands
 * over, and the JSON-lines logs under `<dataDir>/logs/`), each alarm's datapoints are its
 * statistic over its last `EvaluationPeriods` periods (sliding, ending now), and a state change
 * fires its actions: an SNS topic's notice goes to `<dataDir>/events/notifications.jsonl`,
 * and a 'CloudWatch Alarm State Change' event to the local event bus (`events.jsonl`), where
 * the template's event rules route it as EventBridge does; a Lambda action invokes the function
 * (asynchronously, with the event CloudWatch sends). Composite alarms
 * (`AWS::CloudWatch::CompositeAlarm`) are evaluated after the metric alarms from their
 * `AlarmRule` and fire the same way.
 *
 * @example
 * const alarms = new LocalAlarms(plan, { dataDir });
 * alarms.ingest(line); // an EMF line from a function
 * alarms.describe({ AlarmNames: ['ErrorsAlarm'], StateValue: 'ALARM' });
 */
export class LocalAlarms {
  readonly alarms: LocalAlarm[];
  /** The template's composite alarms, evaluated after the metric alarms on every pass. */
  readonly composites: LocalCompositeAlarm[];
  readonly metrics: MetricStore;
  private readonly status = new Map<string, AlarmStatus>();
  private readonly scale: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly offsets = new Map<string, number>();
  private reading: Promise<void> = Promise.resolve();

  constructor(
    plan: LocalPlan,
    private readonly options: LocalAlarmsOptions,
  ) {
    this.alarms = readAlarms(plan);
    this.composites = readCompositeAlarms(plan);
    this.scale = options.timeScale ?? 1;
    const longest = Math.max(60, ...this.alarms.map((a) => a.periodSeconds * a.evaluationPeriods));
    this.metrics = new MetricStore(Math.max(longest * 1000 * this.scale * 2, METRIC_HISTORY_MS));
    const now = new Date().toISOString();
    for (const a of [...this.alarms, ...this.composites]) {
      this.status.set(a.name, {
        state: 'INSUFFICIENT_DATA',
        reason: 'Unchecked: initial alarm creation',
        updated: now,
      });
    }
    // Logs written before the runtime started are history: read only what comes after.
    for (const f of this.logFiles()) this.offsets.set(f, statSync(f).size);
  }

  /** Namespaces the alarms read (functions emitting to them get EMF switched on). */
  get namespaces(): Set<string> {
    return new Set(this.alarms.map((a) => a.namespace));
  }

  /** Takes a log line; returns whether it was an EMF record (consumed, as CloudWatch extracts it). */
  ingest(line: string): boolean {
    if (!line.includes('"_aws"')) return false;
    try {
      const record = JSON.parse(line) as JsonObject;
      if (!record._aws?.CloudWatchMetrics) return false;
      this.metrics.addEmf(record);
      return true;
    } catch {
      return false;
    }
  }

  private logFiles(): string[] {
    const dir = join(this.options.dataDir, 'logs');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => join(dir, f));
  }

  /**
   * Reads what functions appended to `<dataDir>/logs/*.jsonl` since the last call. Calls run
   * one after another (the alarm timer and GetMetricData both catch up), so no line is read twice.
   */
  readLogs(): Promise<void> {
    const next = this.reading.then(() => this.readNewLines());
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readNewLines(): Promise<void> {
    for (const file of this.logFiles()) {
      const offset = this.offsets.get(file) ?? 0;
      const size = statSync(file).size;
      if (size <= offset) continue;
      const handle = await open(file, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        await handle.read(buf, 0, buf.length, offset);
        const text = buf.toString('utf8');
        const complete = text.lastIndexOf('\n') + 1;
        this.offsets.set(file, offset + Buffer.byteLength(text.slice(0, complete)));
        for (const line of text.slice(0, complete).split('\n')) if (line) this.ingest(line);
      } finally {
        await handle.close();
      }
    }
  }

  /** An alarm's (metric or composite) current state, as last evaluated. */
  stateOf(name: string): { state: AlarmState; reason: string; updated: string } | undefined {
    const s = this.status.get(name);
    return s && { ...s };
  }

  /** Evaluates every alarm at `now`, firing the actions of those whose state changed. */
  evaluate(now = Date.now()): void {
    for (const a of this.alarms) {
      const prev = this.status.get(a.name) as AlarmStatus;
      const next = this.evaluateOne(a, now, prev.state);
      if (next.state === prev.state) continue;
      const updated = new Date(now).toISOString();
      this.status.set(a.name, { ...next, updated });
      this.fire(metricFiring(a), prev.state, next.state, next.reason, updated);
    }
    // Composites of composites settle within as many passes as there are composites.
    for (let pass = 0; pass <= this.composites.length; pass++) {
      let changed = false;
      for (const c of this.composites) {
        const prev = this.status.get(c.name) as AlarmStatus;
        const stateOf = (name: string) => this.status.get(name)?.state ?? 'INSUFFICIENT_DATA';
        const state: AlarmState = evaluateAlarmRule(c.rule, stateOf) ? 'ALARM' : 'OK';
        if (state === prev.state) continue;
        const named = ruleAlarms(c.rule).map((n) => {
          const s = this.status.get(n) as AlarmStatus;
          return `${n} is ${s.state}${s.state === 'ALARM' ? ` (${s.reason})` : ''}`;
        });
        const reason = `AlarmRule ${state === 'ALARM' ? 'true' : 'false'}: ${named.join('; ')}`;
        const updated = new Date(now).toISOString();
        this.status.set(c.name, { state, reason, updated });
        this.fire(
          {
            name: c.name,
            description: c.description,
            alarmActions: c.actionsEnabled ? c.alarmActions : [],
            okActions: c.actionsEnabled ? c.okActions : [],
            configuration: { description: c.description, alarmRule: c.ruleText },
          },
          prev.state,
          state,
          reason,
          updated,
        );
        changed = true;
      }
      if (!changed) break;
    }
  }

  private evaluateOne(
    a: LocalAlarm,
    now: number,
    current: AlarmState,
  ): { state: AlarmState; reason: string } {
    const periodMs = a.periodSeconds * 1000 * this.scale;
    const key = MetricStore.key(a.namespace, a.metricName, a.dimensions);
    const points: (number | undefined)[] = [];
    for (let i = a.evaluationPeriods - 1; i >= 0; i--) {
      const to = now - i * periodMs;
      points.push(statistic(a.statistic, this.metrics.values(key, to - periodMs, to)));
    }
    const present = points.filter((p): p is number => p !== undefined);
    const shown = points
      .map((p) => (p === undefined ? 'missing' : String(Math.round(p * 1e4) / 1e4)))
      .join(', ');
    if (!present.length) {
      if (a.treatMissingData === 'breaching')
        return { state: 'ALARM', reason: `no datapoints (treated as breaching)` };
      if (a.treatMissingData === 'notBreaching')
        return { state: 'OK', reason: `no datapoints (treated as not breaching)` };
      if (a.treatMissingData === 'ignore') return { state: current, reason: 'no datapoints (ignored)' };
      return { state: 'INSUFFICIENT_DATA', reason: 'no datapoints' };
    }
    let breaching = 0;
    for (const p of points) {
      if (p === undefined) breaching += a.treatMissingData === 'breaching' ? 1 : 0;
      else if (breaches(a.comparison, p, a.threshold)) breaching++;
    }
    const verdict = breaching >= a.datapointsToAlarm;
    return {
      state: verdict ? 'ALARM' : 'OK',
      reason: `Threshold ${verdict ? 'Crossed' : 'not crossed'}: ${breaching} of the last ${a.evaluationPeriods} datapoint(s) [${shown}] ${a.statistic} of ${a.metricName} ${verdict ? 'breached' : 'within'} ${a.comparison} ${a.threshold}`,
    };
  }

  private fire(a: Firing, from: AlarmState, to: AlarmState, reason: string, time: string): void {
    const dir = join(this.options.dataDir, 'events');
    mkdirSync(dir, { recursive: true });
    const actions = to === 'ALARM' ? a.alarmActions : to === 'OK' ? a.okActions : [];
    for (const arn of actions.filter((x) => x.startsWith('arn:aws:sns:'))) {
      appendFileSync(
        join(dir, 'notifications.jsonl'),
        `${JSON.stringify({ time, topic: arn, subject: `${to}: "${a.name}"`, message: { AlarmName: a.name, NewStateValue: to, OldStateValue: from, NewStateReason: reason } })}\n`,
      );
    }
    // Every state change reaches the default bus, whatever the alarm's actions.
    const event: PublishedEvent = {
      source: 'aws.cloudwatch',
      detailType: 'CloudWatch Alarm State Change',
      time,
      detail: {
        alarmName: a.name,
        state: { value: to, reason, timestamp: time },
        previousState: { value: from },
        configuration: a.configuration,
      },
    };
    appendFileSync(localEventLog(this.options.dataDir), `${JSON.stringify(event)}\n`);
    this.options.log?.(`alarm ${a.name}: ${from} -> ${to} (${reason})`);
    for (const arn of actions) {
      const fn = LAMBDA_ARN.exec(arn);
      if (fn) this.invokeAction(fn[1] as string, fn[2], a, from, to, reason, time);
    }
  }

  /** A Lambda action: an asynchronous invocation with the alarm's event, as CloudWatch sends it. */
  private invokeAction(
    functionName: string,
    qualifier: string | undefined,
    a: Firing,
    from: AlarmState,
    to: AlarmState,
    reason: string,
    time: string,
  ): void {
    const invoke = this.options.invokeLambda;
    if (!invoke) {
      this.options.log?.(`alarm ${a.name}: Lambda action ${functionName} not run (no function host)`);
      return;
    }
    const event = {
      source: 'aws.cloudwatch',
      alarmArn: `${LOCAL_ALARM_ARN}${a.name}`,
      accountId: '000000000000',
      time,
      region: 'us-east-1',
      alarmData: {
        alarmName: a.name,
        state: { value: to, reason, timestamp: time },
        previousState: { value: from },
        configuration: a.configuration,
      },
    };
    invoke(functionName, qualifier, event).then(
      (result) =>
        this.options.log?.(
          `alarm ${a.name}: Lambda action ${functionName} answered ${JSON.stringify(result)}`,
        ),
      (err) =>
        this.options.log?.(
          `alarm ${a.name}: Lambda action ${functionName} failed: ${(err as Error).message}`,
        ),
    );
  }

  /**
   * DescribeAlarms (metric alarms) with `AlarmNames`, `AlarmNamePrefix` and `StateValue`,
   * in the API's shape; metrics are read and alarms evaluated first, so the answer is current.
   */
  async describe(
    input: {
      AlarmNames?: string[];
      AlarmNamePrefix?: string;
      StateValue?: AlarmState;
      AlarmTypes?: ('MetricAlarm' | 'CompositeAlarm')[];
    } = {},
  ) {
    await this.readLogs();
    this.evaluate();
    const wanted = (a: { name: string }) =>
      (!input.AlarmNames || input.AlarmNames.includes(a.name)) &&
      (!input.AlarmNamePrefix || a.name.startsWith(input.AlarmNamePrefix)) &&
      (!input.StateValue || this.status.get(a.name)?.state === input.StateValue);
    // As the API: metric alarms only, unless AlarmTypes asks for composites.
    const types = input.AlarmTypes ?? ['MetricAlarm'];
    const alarms = types.includes('MetricAlarm') ? this.alarms.filter(wanted) : [];
    const composites = types.includes('CompositeAlarm') ? this.composites.filter(wanted) : [];
    return {
      MetricAlarms: alarms.map((a) => {
        const s = this.status.get(a.name) as AlarmStatus;
        const extended = /^p\d/.test(a.statistic);
        return {
          AlarmName: a.name,
          AlarmArn: `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${a.name}`,
          AlarmDescription: a.description,
          StateValue: s.state,
          StateReason: s.reason,
          StateUpdatedTimestamp: s.updated,
          MetricName: a.metricName,
          Namespace: a.namespace,
          Dimensions: Object.entries(a.dimensions).map(([Name, Value]) => ({ Name, Value })),
          ...(extended ? { ExtendedStatistic: a.statistic } : { Statistic: a.statistic }),
          Period: a.periodSeconds,
          EvaluationPeriods: a.evaluationPeriods,
          DatapointsToAlarm: a.datapointsToAlarm,
          Threshold: a.threshold,
          ComparisonOperator: a.comparison,
          TreatMissingData: a.treatMissingData,
          AlarmActions: a.alarmActions,
          OKActions: a.okActions,
        };
      }),
      CompositeAlarms: composites.map((c) => {
        const s = this.status.get(c.name) as AlarmStatus;
        return {
          AlarmName: c.name,
          AlarmArn: `${LOCAL_ALARM_ARN}${c.name}`,
          AlarmDescription: c.description,
          AlarmRule: c.ruleText,
          ActionsEnabled: c.actionsEnabled,
          StateValue: s.state,
          StateReason: s.reason,
          StateUpdatedTimestamp: s.updated,
          AlarmActions: c.alarmActions,
          OKActions: c.okActions,
        };
      }),
    };
  }

  /** Evaluates on a timer (a tenth of the shortest scaled period, 50 ms to 10 s) until stopped. */
  start(): void {
    if (this.timer || !this.alarms.length) return;
    const shortest = Math.min(...this.alarms.map((a) => a.periodSeconds * 1000 * this.scale));
    this.timer = setInterval(
      () => {
        this.readLogs()
          .then(() => this.evaluate())
          .catch((err) => this.options.log?.(`alarm evaluation failed: ${(err as Error).message}`));
      },
      Math.min(10_000, Math.max(50, shortest / 10)),
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
