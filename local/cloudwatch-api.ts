import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LocalAlarms, MetricStore, statistic } from './alarms';
import {
  AwsServiceError as CloudWatchApiError,
  parseJsonBody,
  type RunningAwsService,
  readRequestBody,
  sendAnswer,
  serveAwsApi,
} from './aws-service-server';

/** What `AWS_ENDPOINT_URL_CLOUDWATCH` is set to. */
export type RunningCloudWatchApi = RunningAwsService;

const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
/** GetMetricData's own limit on queries per call. */
const MAX_QUERIES = 500;

interface MetricStatInput {
  Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
  Period?: number;
  Stat?: string;
}

interface QueryInput {
  Id?: string;
  Label?: string;
  MetricStat?: MetricStatInput;
  Expression?: string;
  ReturnData?: boolean;
}

/** A JSON-protocol timestamp: epoch seconds (the SDK's form), or ISO 8601 text. */
function timeOf(v: unknown, field: string): number {
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new CloudWatchApiError(400, 'InvalidParameterValueException', `${field} must be a timestamp`);
  }
  return ms;
}

/**
 * One query's datapoints from the runtime's metrics: the values of the metric's exact
 * dimension set (as CloudWatch matches them), one statistic per period with data, periods
 * aligned to multiples of Period since the epoch.
 */
export function metricStatResult(
  metrics: MetricStore,
  q: QueryInput,
  start: number,
  end: number,
): { timestamps: number[]; values: number[] } {
  const s = q.MetricStat;
  const m = s?.Metric;
  if (!s || !m?.Namespace || !m.MetricName || !s.Stat || !(Number(s.Period) > 0)) {
    throw new CloudWatchApiError(
      400,
      'InvalidParameterValueException',
      `query ${q.Id}: the local runtime answers MetricStat queries (Namespace, MetricName, Period, Stat)${q.Expression ? ', not metric math Expressions' : ''}`,
    );
  }
  try {
    // Checked up front: a period without data computes nothing and would let it through.
    statistic(s.Stat, [0]);
  } catch {
    throw new CloudWatchApiError(
      400,
      'InvalidParameterValueException',
      `query ${q.Id}: statistic '${s.Stat}' is not computed locally (SampleCount, Sum, Average, Minimum, Maximum, pNN)`,
    );
  }
  const dims = Object.fromEntries((m.Dimensions ?? []).map((d) => [String(d.Name), String(d.Value)]));
  const period = Number(s.Period) * 1000;
  const samples = metrics.samples(MetricStore.key(m.Namespace, m.MetricName, dims), start, end);
  const buckets = new Map<number, number[]>();
  for (const x of samples) {
    const at = Math.floor(x.t / period) * period;
    let list = buckets.get(at);
    if (!list) {
      list = [];
      buckets.set(at, list);
    }
    list.push(x.value);
  }
  const timestamps: number[] = [];
  const values: number[] = [];
  for (const [at, list] of [...buckets].sort((a, b) => a[0] - b[0])) {
    const v = statistic(s.Stat, list);
    if (v === undefined) continue;
    timestamps.push(at);
    values.push(v);
  }
  return { timestamps, values };
}

/**
 * Serves CloudWatch's GetMetricData over the AWS JSON 1.0 protocol `@aws-sdk/client-cloudwatch`
 * speaks, from the metrics the local runtime reads out of its functions' embedded-metric-format
 * lines (the store its alarms evaluate, local/alarms.ts), so a function that reads CloudWatch
 * metrics (the monitoring API's request metrics) runs unchanged. The runtime keeps
 * METRIC_HISTORY_MS of values; metric math is not evaluated.
 *
 * @example
 * const api = await startCloudWatchApi(() => runtime.alarms);
 * new CloudWatchClient({ endpoint: api.url }).send(new GetMetricDataCommand({ ... }));
 */
export async function startCloudWatchApi(
  alarms: () => LocalAlarms | undefined,
  port = 0,
): Promise<RunningCloudWatchApi> {
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    sendAnswer(res, status, body, { 'content-type': 'application/x-amz-json-1.0', ...headers });
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = parseJsonBody(await readRequestBody(req));
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    if (op !== 'GetMetricData') {
      throw new CloudWatchApiError(
        400,
        'UnknownOperationException',
        `operation '${op}' is not served locally`,
      );
    }
    const local = alarms();
    if (!local) throw new CloudWatchApiError(503, 'ServiceUnavailable', 'the local runtime is starting');
    const queries = (body.MetricDataQueries ?? []) as QueryInput[];
    if (!Array.isArray(queries) || !queries.length || queries.length > MAX_QUERIES) {
      throw new CloudWatchApiError(
        400,
        'InvalidParameterValueException',
        `MetricDataQueries must hold 1 to ${MAX_QUERIES} queries`,
      );
    }
    const start = timeOf(body.StartTime, 'StartTime');
    const end = timeOf(body.EndTime, 'EndTime');
    // What the functions appended to the prediction log since the alarms last read it.
    await local.readLogs();
    const descending = body.ScanBy !== 'TimestampAscending';
    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const r = metricStatResult(local.metrics, q, start, end);
        const order = descending
          ? r.timestamps.map((_, i) => r.timestamps.length - 1 - i)
          : r.timestamps.keys();
        const timestamps: number[] = [];
        const values: number[] = [];
        for (const i of order) {
          timestamps.push(r.timestamps[i]! / 1000);
          values.push(r.values[i]!);
        }
        return {
          Id: q.Id,
          Label: q.Label ?? q.MetricStat?.Metric?.MetricName,
          Timestamps: timestamps,
          Values: values,
          StatusCode: 'Complete',
        };
      });
    send(res, 200, { MetricDataResults: results, Messages: [] });
  };
  return serveAwsApi(
    route,
    (res, e) =>
      // The query-compatible error code header the SDK reads the error's name from.
      send(
        res,
        e.status,
        { __type: `com.amazonaws.cloudwatch#${e.type}`, message: e.message },
        {
          'x-amzn-query-error': `${e.type.replace(/Exception$/, '')};${e.status < 500 ? 'Sender' : 'Receiver'}`,
        },
      ),
    { port, fault: 'InternalServiceFault' },
  );
}
