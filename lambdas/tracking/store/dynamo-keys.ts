import { encodeInt64, invertId } from '../domain/order-key';

/**
 * The single-table key design (docs/tracking.md has the access-pattern table). Every item
 * has `pk` and `sk`; items listed by an index also carry `gsi1pk` and `gsi1sk`.
 */
export const GSI1 = 'gsi1';

export const keys = {
  counter: (name: string) => ({ pk: 'COUNTER', sk: name }),
  experiment: (id: string) => ({ pk: `EXP#${id}`, sk: 'EXP' }),
  experimentName: (name: string) => ({ pk: `EXPNAME#${name}`, sk: 'NAME' }),
  /** All experiments share one index partition: there are few, and search reads them all. */
  experimentIndex: (id: string) => ({ gsi1pk: 'EXPS', gsi1sk: id.padStart(20, '0') }),
  run: (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' }),
  /** Runs of an experiment sorted by start time; a descending scan gives MLflow's default order. */
  runIndex: (experimentId: string, startTime: number, runId: string) => ({
    gsi1pk: `RUNS#${experimentId}`,
    gsi1sk: `${encodeInt64(startTime)}#${invertId(runId)}`,
  }),
  runIndexPartition: (experimentId: string) => `RUNS#${experimentId}`,
  /** One partition per (run, metric): the full history of one metric is one Query. */
  metricHistory: (runId: string, key: string, orderKey: string) => ({
    pk: `HIST#${runId}#${key}`,
    sk: orderKey,
  }),
  metricHistoryPartition: (runId: string, key: string) => `HIST#${runId}#${key}`,
  request: (fingerprint: string) => ({ pk: `REQ#${fingerprint}`, sk: 'REQ' }),
  model: (name: string) => ({ pk: `RM#${name}`, sk: 'RM' }),
  modelIndex: (name: string) => ({ gsi1pk: 'MODELS', gsi1sk: name }),
  version: (name: string, version: string) => ({ pk: `RM#${name}`, sk: `MV#${version.padStart(10, '0')}` }),
  /** Stage transitions and alias changes, in time order under the model. */
  change: (name: string, timestamp: number, id: string) => ({
    pk: `RM#${name}`,
    sk: `CH#${encodeInt64(timestamp)}#${id}`,
  }),
};
