import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../platform/concurrency';
import { isConditionFailed } from '../../platform/dynamo-conditions';
import { InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { DatasetInput, Metric, RunInfo, RunRecord } from '../domain/model';
import { metricOrderKey } from '../domain/order-key';
import { clip } from '../domain/validation';
import { GSI1, keys } from './dynamo-keys';
import { settleRunItem } from './dynamo-latest-repair';
import { ExpressionBuilder, fromStoredValue, type StoredMetric, toStoredValue } from './dynamo-util';
import type { PrefilterClause, RunStore } from './tracking-store';

/**
 * Runs on the tracking table. Multi-item invariants rest on conditional writes: params are
 * immutable by a per-key condition, and each metric's latest value is raised only by a
 * condition comparing order keys, so concurrent writers into one run never lose a newer value.
 */
export class DynamoRunStore implements RunStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async createRun(run: RunRecord): Promise<void> {
    const { info } = run;
    await this.db
      .send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...keys.run(info.run_id),
            ...keys.runIndex(info.experiment_id, info.start_time, info.run_id),
            info,
            params: run.params,
            tags: run.tags,
            metrics: {},
            inputs: run.inputs,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((err) => {
        if (!isConditionFailed(err)) throw tooLarge(err, info.run_id);
      });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const res = await this.db.send(new GetCommand({ TableName: this.table, Key: keys.run(runId) }));
    return res.Item ? toRun(await settleRunItem(this.db, this.table, res.Item)) : undefined;
  }

  async updateRunInfo(
    runId: string,
    changes: Partial<Pick<RunInfo, 'status' | 'end_time' | 'run_name' | 'lifecycle_stage'>>,
  ): Promise<void> {
    const b = new ExpressionBuilder();
    const sets: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v !== undefined) sets.push(`#info.${b.name(k)} = ${b.value(v)}`);
    }
    if (changes.run_name !== undefined)
      sets.push(`${b.name('tags')}.${b.name('mlflow.runName')} = ${b.value(changes.run_name)}`);
    if (sets.length === 0) return;
    b.names['#info'] = 'info';
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.run(runId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...b.attributes(),
      }),
    );
  }

  async writeRunData(
    runId: string,
    data: {
      params?: Readonly<Record<string, string>>;
      tags?: Readonly<Record<string, string>>;
      deleteTags?: readonly string[];
      latest?: readonly Metric[];
    },
  ): Promise<void> {
    // Params and tags: chunks of one UpdateItem each (DynamoDB expressions are limited to 4 KB).
    type Part = { set?: string; remove?: string; condition?: string };
    const parts: ((b: ExpressionBuilder) => Part)[] = [];
    for (const [k, v] of Object.entries(data.params ?? {})) {
      parts.push((b) => {
        const n = b.name(k);
        const val = b.value(v);
        return {
          set: `${b.name('params')}.${n} = ${val}`,
          condition: `(attribute_not_exists(${b.name('params')}.${n}) OR ${b.name('params')}.${n} = ${val})`,
        };
      });
    }
    for (const [k, v] of Object.entries(data.tags ?? {})) {
      parts.push((b) => ({ set: `${b.name('tags')}.${b.name(k)} = ${b.value(v)}` }));
    }
    for (const k of data.deleteTags ?? []) parts.push((b) => ({ remove: `${b.name('tags')}.${b.name(k)}` }));
    await this.runChunks(runId, parts, async () => {
      const run = await this.getRun(runId);
      if (!run) throw new NotFoundError(`Run with id=${runId} not found`);
      if (run.info.lifecycle_stage !== 'active') {
        throw new InvalidParameterError(
          `The run ${runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`,
        );
      }
      for (const [k, v] of Object.entries(data.params ?? {})) {
        const old = run.params[k];
        if (old !== undefined && old !== v) throw paramConflict(runId, k, old, v);
      }
    });
    await this.raiseLatest(runId, data.latest ?? []);
  }

  private async runChunks(
    runId: string,
    parts: ((b: ExpressionBuilder) => { set?: string; remove?: string; condition?: string })[],
    explainFailure: () => Promise<void>,
  ): Promise<void> {
    let i = 0;
    while (i < parts.length) {
      const b = new ExpressionBuilder();
      const sets: string[] = [];
      const removes: string[] = [];
      const conditions = ['attribute_exists(pk)', `#info.#lc = ${b.value('active')}`];
      b.names['#info'] = 'info';
      b.names['#lc'] = 'lifecycle_stage';
      let size = 0;
      while (i < parts.length && size < 3000) {
        const p = (
          parts[i] as (b: ExpressionBuilder) => { set?: string; remove?: string; condition?: string }
        )(b);
        if (p.set) sets.push(p.set);
        if (p.remove) removes.push(p.remove);
        if (p.condition) conditions.push(p.condition);
        size += (p.set?.length ?? 0) + (p.remove?.length ?? 0) + (p.condition?.length ?? 0) + 6;
        i++;
      }
      const update = [
        sets.length ? `SET ${sets.join(', ')}` : '',
        removes.length ? `REMOVE ${removes.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.run(runId),
            UpdateExpression: update,
            ConditionExpression: conditions.join(' AND '),
            ...b.attributes(),
          }),
        );
      } catch (err) {
        if (isConditionFailed(err)) {
          await explainFailure();
          // The condition failed but nothing explains it now: a concurrent change; retry this chunk.
          throw new InvalidParameterError(`Concurrent change to run ${runId}; retry the request`);
        }
        throw tooLarge(err, runId);
      }
    }
  }

  /** Raises latest values: one conditional update per chunk of keys, then per key where a chunk lost a race. */
  private async raiseLatest(runId: string, latest: readonly Metric[]): Promise<void> {
    const chunks: Metric[][] = [];
    let current: Metric[] = [];
    for (const m of latest) {
      current.push(m);
      if (current.length === 40) {
        chunks.push(current);
        current = [];
      }
    }
    if (current.length) chunks.push(current);
    const update = async (ms: readonly Metric[]): Promise<boolean> => {
      const b = new ExpressionBuilder();
      const sets: string[] = [];
      const conds: string[] = ['attribute_exists(pk)'];
      for (const m of ms) {
        const n = b.name(m.key);
        const o = metricOrderKey(m);
        const stored: StoredMetric = { x: toStoredValue(m.value), t: m.timestamp, s: m.step, o };
        sets.push(`${b.name('metrics')}.${n} = ${b.value(stored)}`);
        conds.push(
          `(attribute_not_exists(${b.name('metrics')}.${n}) OR ${b.name('metrics')}.${n}.o < ${b.value(o)})`,
        );
      }
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.run(runId),
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: conds.join(' AND '),
            ...b.attributes(),
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw tooLarge(err, runId);
      }
    };
    await mapLimit(chunks, 4, async (chunk) => {
      if (await update(chunk)) return;
      // Some key in the chunk already holds a newer point: settle each key alone; a failed
      // condition then means "the stored point is newer", which is the correct outcome.
      if (chunk.length > 1) await mapLimit(chunk, 8, (m) => update([m]));
    });
  }

  async addRunInputs(runId: string, inputs: readonly DatasetInput[]): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = await this.getRun(runId);
      if (!run) throw new NotFoundError(`Run with id=${runId} not found`);
      const merged = [...run.inputs];
      for (const i of inputs) {
        const same = merged.findIndex(
          (m) => m.dataset.name === i.dataset.name && m.dataset.digest === i.dataset.digest,
        );
        if (same === -1) merged.push(i);
      }
      if (merged.length === run.inputs.length) return;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.run(runId),
            UpdateExpression: 'SET #i = :new',
            ConditionExpression: 'size(#i) = :n',
            ExpressionAttributeNames: { '#i': 'inputs' },
            ExpressionAttributeValues: { ':new': merged, ':n': run.inputs.length },
          }),
        );
        return;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    }
    throw new InvalidParameterError(`Concurrent dataset inputs to run ${runId}; retry the request`);
  }

  async scanRuns(
    experimentId: string,
    page: { after?: string; limit: number; prefilter?: readonly PrefilterClause[] },
  ): Promise<{ runs: { run: RunRecord; position: string }[]; done: boolean; last?: string }> {
    const ex = new ExpressionBuilder();
    const p = ex.value(keys.runIndexPartition(experimentId));
    const a = page.after ? ex.value(page.after) : undefined;
    const filter = (page.prefilter ?? []).flatMap((c) => prefilterExpression(ex, c));
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: GSI1,
        KeyConditionExpression: a ? `gsi1pk = ${p} AND gsi1sk < ${a}` : `gsi1pk = ${p}`,
        ...(filter.length ? { FilterExpression: filter.join(' AND ') } : {}),
        ...ex.attributes(),
        ScanIndexForward: false,
        Limit: page.limit,
      }),
    );
    const last = res.LastEvaluatedKey?.gsi1sk as string | undefined;
    return {
      runs: await Promise.all(
        (res.Items ?? []).map(async (it) => ({
          run: toRun(await settleRunItem(this.db, this.table, it)),
          position: it.gsi1sk as string,
        })),
      ),
      done: !res.LastEvaluatedKey,
      ...(last ? { last } : {}),
    };
  }
}

const OPS: Record<PrefilterClause['op'], string> = {
  '=': '=',
  '!=': '<>',
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
};

/**
 * One prefilter clause as a FilterExpression term, or none when DynamoDB cannot evaluate it
 * as matches() does (the clause is then checked in memory only, which is always allowed).
 * Metric values compare as their order-preserving `x` encoding; items from before that
 * encoding (`v` only) pass, to be judged in memory.
 */
function prefilterExpression(ex: ExpressionBuilder, c: PrefilterClause): string[] {
  // Names are taken only for a term that is kept: DynamoDB refuses unused ones.
  const path = () =>
    `${ex.name({ metric: 'metrics', param: 'params', tag: 'tags', attribute: 'info' }[c.field.kind])}.${ex.name(c.field.key)}`;
  if (c.field.kind === 'metric') {
    if (typeof c.value !== 'number') return [];
    const p = path();
    const encoded = `${p}.${ex.name('x')} ${OPS[c.op]} ${ex.value(toStoredValue(c.value))}`;
    return [`(${encoded} OR attribute_exists(${p}.${ex.name('v')}))`];
  }
  let { op, value } = c;
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    // Numeric attributes are int64 milliseconds: widen to an integer bound the SDK can send
    // (`> 1.5` as `>= 1`), and leave out bounds no stored time can reach (1e300, Infinity).
    const widened = op === '>' || op === '>=' ? Math.floor(value) : Math.ceil(value);
    if (!Number.isSafeInteger(widened) || op === '=' || op === '!=') return [];
    op = op === '>' || op === '>=' ? '>=' : '<=';
    value = widened;
  }
  return [`${path()} ${OPS[op]} ${ex.value(value)}`];
}

function paramConflict(runId: string, key: string, old: string, value: string): InvalidParameterError {
  return new InvalidParameterError(
    `Changing param values is not allowed. Param with key='${key}' was already logged with value='${clip(old)}' for run ID='${runId}'. Attempted logging new value '${clip(value)}'.`,
  );
}

function tooLarge(err: unknown, runId: string): unknown {
  const message = (err as Error).message ?? '';
  if ((err as Error).name === 'ValidationException' && /size/i.test(message)) {
    return new InvalidParameterError(
      `Run ${runId} would exceed 400 KB of params, tags and latest metrics; log large values as artifacts instead.`,
    );
  }
  return err;
}

/** Reads a stored run item back into a RunRecord. */
function toRun(item: Record<string, unknown>): RunRecord {
  const stored = (item.metrics ?? {}) as Record<string, StoredMetric>;
  const metrics: Record<string, { value: number; timestamp: number; step: number }> = {};
  for (const [k, m] of Object.entries(stored))
    metrics[k] = { value: fromStoredValue(m), timestamp: m.t, step: m.s };
  return {
    info: item.info as RunInfo,
    params: (item.params ?? {}) as Record<string, string>,
    tags: (item.tags ?? {}) as Record<string, string>,
    metrics,
    inputs: (item.inputs ?? []) as DatasetInput[],
  };
}
