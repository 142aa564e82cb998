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

interface Sample {
  readonly t: number;
  readonly value: number;
}

/**
 * Metrics read from embedded-metric-format records (`_aws.CloudWatchMetrics`), stored per
 * namespace, metric name and exact dimension set, as CloudWatch keys them.
 */
export class MetricStore {
  private readonly series = new Map<string, Sample[]>();

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
          for (const value of values) list.push({ t, value });
          n += values.length;
        }
      }
    }
    return n;
  }

  /** Values of a series in [from, to). */
  values(key: string, from: number, to: number): number[] {
    const list = this.series.get(key);
    if (!list) return [];
    // Drop what no alarm looks back to any more.
    const cutoff = to - this.retainMs;
    let drop = 0;
    while (drop < list.length && (list[drop] as Sample).t < cutoff) drop++;
    if (drop) list.splice(0, drop);
    return list.filter((s) => s.t >= from && s.t < to).map((s) => s.value);
  }
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
}

/**
 * The template's CloudWatch alarms evaluated on this machine: metrics come from the
 * embedded-metric-format lines functions write (their stdout, which the function host hands
 * over, and the JSON-lines logs under `<dataDir>/logs/`), each alarm's datapoints are its
 * statistic over its last `EvaluationPeriods` periods (sliding, ending now), and a state change
 * fires its actions: an SNS topic's notice goes to `<dataDir>/events/notifications.jsonl`,
 * and a 'CloudWatch Alarm State Change' event to the local event bus (`events.jsonl`), where
 * the template's event rules route it as EventBridge does.
 *
 * @example
 * const alarms = new LocalAlarms(plan, { dataDir });
 * alarms.ingest(line); // an EMF line from a function
 * alarms.describe({ AlarmNames: ['ErrorsAlarm'], StateValue: 'ALARM' });
 */
export class LocalAlarms {
  readonly alarms: LocalAlarm[];
  readonly metrics: MetricStore;
  private readonly status = new Map<string, AlarmStatus>();
  private readonly scale: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly offsets = new Map<string, number>();

  constructor(
    plan: LocalPlan,
    private readonly options: LocalAlarmsOptions,
  ) {
    this.alarms = readAlarms(plan);
    this.scale = options.timeScale ?? 1;
    const longest = Math.max(60, ...this.alarms.map((a) => a.periodSeconds * a.evaluationPeriods));
    this.metrics = new MetricStore(longest * 1000 * this.scale * 2);
    const now = new Date().toISOString();
    for (const a of this.alarms) {
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

  /** Reads what functions appended to `<dataDir>/logs/*.jsonl` since the last call. */
  async readLogs(): Promise<void> {
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

  /** Evaluates every alarm at `now`, firing the actions of those whose state changed. */
  evaluate(now = Date.now()): void {
    for (const a of this.alarms) {
      const prev = this.status.get(a.name) as AlarmStatus;
      const next = this.evaluateOne(a, now, prev.state);
      if (next.state === prev.state) continue;
      const updated = new Date(now).toISOString();
      this.status.set(a.name, { ...next, updated });
      this.fire(a, prev.state, next.state, next.reason, updated);
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

  private fire(a: LocalAlarm, from: AlarmState, to: AlarmState, reason: string, time: string): void {
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
        configuration: {
          description: a.description,
          metrics: [
            {
              metricStat: {
                metric: { namespace: a.namespace, name: a.metricName, dimensions: a.dimensions },
              },
            },
          ],
        },
      },
    };
    appendFileSync(localEventLog(this.options.dataDir), `${JSON.stringify(event)}\n`);
    this.options.log?.(`alarm ${a.name}: ${from} -> ${to} (${reason})`);
  }

  /**
   * DescribeAlarms (metric alarms) with `AlarmNames`, `AlarmNamePrefix` and `StateValue`,
   * in the API's shape; metrics are read and alarms evaluated first, so the answer is current.
   */
  async describe(input: { AlarmNames?: string[]; AlarmNamePrefix?: string; StateValue?: AlarmState } = {}) {
    await this.readLogs();
    this.evaluate();
    const alarms = this.alarms.filter(
      (a) =>
        (!input.AlarmNames || input.AlarmNames.includes(a.name)) &&
        (!input.AlarmNamePrefix || a.name.startsWith(input.AlarmNamePrefix)) &&
        (!input.StateValue || this.status.get(a.name)?.state === input.StateValue),
    );
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
      CompositeAlarms: [],
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
