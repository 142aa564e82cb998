import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { MetricStatQuery, MetricsReader } from './request-metrics';

/** CloudWatch answers at most 500 queries per GetMetricData call. */
const QUERIES_PER_CALL = 500;

/**
 * The MetricsReader on CloudWatch's GetMetricData (the local runtime serves the same API from
 * the metrics its functions emit, local/cloudwatch-api.ts), following NextToken across pages.
 *
 * @example
 * const reader = new CloudWatchMetricsReader(awsClients().cloudwatch);
 */
export class CloudWatchMetricsReader implements MetricsReader {
  constructor(private readonly client: CloudWatchClient) {}

  async read(
    queries: readonly MetricStatQuery[],
    range: { readonly start: number; readonly end: number; readonly periodSeconds: number },
  ): Promise<Map<string, Map<number, number>>> {
    const out = new Map<string, Map<number, number>>();
    for (let i = 0; i < queries.length; i += QUERIES_PER_CALL) {
      const batch: MetricDataQuery[] = queries.slice(i, i + QUERIES_PER_CALL).map((q) => ({
        Id: q.id,
        MetricStat: {
          Metric: {
            Namespace: q.namespace,
            MetricName: q.metricName,
            Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: range.periodSeconds,
          Stat: q.stat,
        },
        ReturnData: true,
      }));
      let token: string | undefined;
      do {
        const res = await this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: batch,
            StartTime: new Date(range.start),
            EndTime: new Date(range.end),
            ScanBy: 'TimestampAscending',
            NextToken: token,
          }),
        );
        for (const r of res.MetricDataResults ?? []) {
          if (!r.Id) continue;
          let points = out.get(r.Id);
          if (!points) {
            points = new Map();
            out.set(r.Id, points);
          }
          const times = r.Timestamps ?? [];
          const values = r.Values ?? [];
          for (let k = 0; k < times.length && k < values.length; k++) {
            points.set(times[k]!.getTime(), values[k]!);
          }
        }
        token = res.NextToken;
      } while (token);
    }
    return out;
  }
}
