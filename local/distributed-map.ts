import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { mapLimit } from '../lambdas/platform/concurrency';
import type { ObjectStore } from '../lambdas/platform/object-store';

// biome-ignore lint/suspicious/noExplicitAny: ASL states are JSON read from the template
type AslState = Record<string, any>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const S3_GET_OBJECT = 'arn:aws:states:::s3:getObject';
const S3_PUT_OBJECT = 'arn:aws:states:::s3:putObject';
/** The resource of the Task that stands in for a Distributed Map (never invoked on AWS). */
export const LOCAL_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';

/** A Map state that reads its items from S3 or writes its results there, as the template has it. */
export interface DistributedMapSpec {
  readonly name: string;
  readonly state: AslState;
  /** Its item processor, with any Distributed Map inside it rewritten the same way. */
  readonly processor: { StartAt: string; States: Record<string, AslState> };
}

/**
 * aws-local-stepfunctions runs Map states over an array in the state and knows neither
 * ItemReader nor ResultWriter. This rewrites each Map that uses them into a Task that the
 * local runtime handles ({@link runDistributedMap}); the Task keeps the Map's InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch and transition, so the engine applies
 * them as it would to the Map. Every other state is returned as it is.
 */
export function rewriteDistributedMaps(
  machineId: string,
  states: Record<string, AslState>,
  found: Map<string, DistributedMapSpec> = new Map(),
): Record<string, AslState> {
  const out: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Map' || (!state.ItemReader && !state.ResultWriter)) {
      out[name] = state;
      continue;
    }
    const reader = state.ItemReader;
    if (reader && (reader.Resource !== S3_GET_OBJECT || reader.ReaderConfig?.InputType !== 'JSON')) {
      throw new Error(
        `state machine ${machineId}, state '${name}': only an ItemReader over one JSON object in S3 runs locally (got ${reader.Resource} ${reader.ReaderConfig?.InputType ?? ''})`,
      );
    }
    if (state.ResultWriter && state.ResultWriter.Resource !== S3_PUT_OBJECT) {
      throw new Error(
        `state machine ${machineId}, state '${name}': ResultWriter resource ${state.ResultWriter.Resource} cannot run locally`,
      );
    }
    if (state.ResultWriter?.WriterConfig) {
      throw new Error(
        `state machine ${machineId}, state '${name}': ResultWriter WriterConfig does not run locally; write the default result files`,
      );
    }
    const processor = state.ItemProcessor ?? state.Iterator;
    if (found.has(name)) throw new Error(`state machine ${machineId}: two Distributed Maps named '${name}'`);
    found.set(name, {
      name,
      state,
      processor: {
        StartAt: processor.StartAt,
        States: rewriteDistributedMaps(machineId, processor.States, found),
      },
    });
    const kept: AslState = { Type: 'Task', Resource: LOCAL_MAP_RESOURCE };
    for (const k of [
      'Comment',
      'InputPath',
      'ResultSelector',
      'ResultPath',
      'OutputPath',
      'Retry',
      'Catch',
    ]) {
      if (k in state) kept[k] = state[k];
    }
    if (state.Next) kept.Next = state.Next;
    else kept.End = true;
    out[name] = kept;
  }
  return out;
}

/** What a Distributed Map run needs from the execution running it. */
export interface MapRunContext {
  readonly store: ObjectStore;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  /** The execution's context object ($$), without Map. */
  readonly context: Record<string, unknown>;
  /** Run options for the child executions (local task handlers, retry waits). */
  readonly runOptions: Record<string, unknown>;
  /** Receives the child executions' events, with their item index. */
  readonly onEvent: (event: { type: string; index?: number; [k: string]: unknown }) => void;
}

/**
 * Runs a Distributed Map as Step Functions does: items from the ItemReader's S3 object (or
 * ItemsPath), each through the ItemSelector into its own child execution of the item
 * processor, at most MaxConcurrency at once, failing once more children failed than the
 * tolerated count or percentage allows (`States.ExceedToleratedFailureThreshold`). With a
 * ResultWriter, the children's results go to `<Prefix>/<map run id>/` as `SUCCEEDED_0.json`
 * (and `FAILED_0.json`) with a `manifest.json`, and the state's result is
 * `{MapRunArn, ResultWriterDetails: {Bucket, Key}}`; without one, the array of outputs.
 */
export async function runDistributedMap(
  spec: DistributedMapSpec,
  input: Json,
  run: MapRunContext,
): Promise<Json> {
  const { state } = spec;
  const evaluate = (template: unknown, extra: Record<string, unknown> = {}) =>
    templateEvaluator(template)(input, { ...run.context, ...extra });
  let items: Json[];
  if (state.ItemReader) {
    const where = (await evaluate(state.ItemReader.Parameters ?? {})) as { Bucket?: string; Key?: string };
    if (!where.Bucket || !where.Key)
      throw statesError('States.ItemReaderFailed', 'ItemReader needs Bucket and Key');
    const body = await run.store.get(where.Bucket, where.Key);
    if (!body) throw statesError('States.ItemReaderFailed', `No object s3://${where.Bucket}/${where.Key}`);
    const parsed = JSON.parse(new TextDecoder().decode(body)) as Json;
    if (!Array.isArray(parsed)) {
      throw statesError(
        'States.ItemReaderFailed',
        `s3://${where.Bucket}/${where.Key} does not hold a JSON array`,
      );
    }
    const max = state.ItemReader.ReaderConfig?.MaxItems;
    items = typeof max === 'number' ? parsed.slice(0, max) : parsed;
  } else {
    const picked = (await evaluate({ 'items.$': state.ItemsPath ?? '$' })) as { items: Json };
    if (!Array.isArray(picked.items))
      throw statesError('States.Runtime', 'ItemsPath does not point to an array');
    items = picked.items;
  }

  const mapRunId = randomUUID();
  const mapRunArn = `${run.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${spec.name}:${mapRunId}`;
  const selector = state.ItemSelector ?? state.Parameters;
  const select = selector ? templateEvaluator(selector) : undefined;
  const child = new StateMachine(spec.processor as never, { validationOptions: { noValidate: true } });
  const tolerated = toleratedFailures(state, items.length);
  let failures = 0;
  const parentState = { name: spec.name, type: 'Map', input };
  type Entry = {
    status: 'SUCCEEDED' | 'FAILED';
    input: Json;
    output?: Json;
    error?: string;
    cause?: string;
    name: string;
    start: string;
    stop: string;
  };
  const entries = await mapLimit(items, state.MaxConcurrency || 1000, async (item, index): Promise<Entry> => {
    const itemInput = select
      ? await select(input, { ...run.context, Map: { Item: { Index: index, Value: item } } })
      : item;
    const name = `${mapRunId.slice(0, 8)}-${index}`;
    const start = new Date().toISOString();
    run.onEvent({ type: 'MapIterationStarted', index, parentState, timestamp: Date.now() });
    const execution = child.run(
      itemInput as never,
      {
        ...run.runOptions,
        context: {
          ...run.context,
          Execution: {
            Id: `${run.executionArn.replace(/:([^:]+)$/, '/$1')}:${name}`,
            Name: name,
            Input: itemInput,
            StartTime: start,
          },
        },
      } as never,
    );
    const forwarding = (async () => {
      for await (const ev of execution.eventLogs as AsyncIterable<{ type: string }>) {
        if (ev.type.startsWith('State')) run.onEvent({ ...ev, index });
      }
    })();
    try {
      const output = (await execution.result) as Json;
      await forwarding.catch(() => undefined);
      run.onEvent({ type: 'MapIterationSucceeded', index, parentState, timestamp: Date.now() });
      return { status: 'SUCCEEDED', input: itemInput, output, name, start, stop: new Date().toISOString() };
    } catch (err) {
      await forwarding.catch(() => undefined);
      const e = err as Error & { cause?: unknown };
      const error = e.name;
      const cause = typeof e.cause === 'string' ? e.cause : (e.message ?? String(e.cause));
      run.onEvent({
        type: 'MapIterationFailed',
        index,
        parentState,
        Error: error,
        Cause: cause,
        timestamp: Date.now(),
      });
      failures += 1;
      if (failures > tolerated) {
        throw statesError(
          'States.ExceedToleratedFailureThreshold',
          `The Map run failed: item ${index} failed with ${error}: ${cause}`,
        );
      }
      return {
        status: 'FAILED',
        input: itemInput,
        error,
        cause,
        name,
        start,
        stop: new Date().toISOString(),
      };
    }
  });

  if (!state.ResultWriter) return entries.map((e) => e.output ?? null);
  const where = (await evaluate(state.ResultWriter.Parameters ?? {})) as { Bucket?: string; Prefix?: string };
  if (!where.Bucket) throw statesError('States.ResultWriterFailed', 'ResultWriter needs a Bucket');
  const base = `${where.Prefix ? `${where.Prefix.replace(/\/+$/, '')}/` : ''}${mapRunId}/`;
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const these = entries.filter((e) => e.status === status);
    if (these.length === 0) continue;
    const body = JSON.stringify(
      these.map((e) => ({
        ExecutionArn: `${mapRunArn.replace(':mapRun:', ':execution:')}:${e.name}`,
        Input: JSON.stringify(e.input),
        InputDetails: { Included: true },
        Name: e.name,
        ...(status === 'SUCCEEDED'
          ? { Output: JSON.stringify(e.output), OutputDetails: { Included: true } }
          : { Error: e.error, Cause: e.cause }),
        RedriveCount: 0,
        StartDate: e.start,
        StateMachineArn: run.stateMachineArn,
        Status: status,
        StopDate: e.stop,
      })),
    );
    const key = `${base}${status}_0.json`;
    await run.store.put(where.Bucket, key, body, { contentType: 'application/json' });
    files[status].push({ Key: key, Size: Buffer.byteLength(body) });
  }
  const manifest = `${base}manifest.json`;
  await run.store.put(
    where.Bucket,
    manifest,
    JSON.stringify({ DestinationBucket: where.Bucket, MapRunArn: mapRunArn, ResultFiles: files }),
    { contentType: 'application/json' },
  );
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: where.Bucket, Key: manifest } };
}

/** How many children may fail before the Map run fails (count and percentage, whichever is stricter). */
function toleratedFailures(state: AslState, total: number): number {
  let n = 0;
  if (typeof state.ToleratedFailureCount === 'number') n = state.ToleratedFailureCount;
  if (typeof state.ToleratedFailurePercentage === 'number') {
    const byShare = Math.floor((state.ToleratedFailurePercentage / 100) * total);
    n = typeof state.ToleratedFailureCount === 'number' ? Math.min(n, byShare) : byShare;
  }
  return n;
}

/**
 * A payload template (`"key.$": "$.path"`, `$$` context paths, intrinsic functions)
 * evaluated by the engine itself, in a one-state machine, so the semantics are its own.
 */
function templateEvaluator(
  template: unknown,
): (input: Json, context: Record<string, unknown>) => Promise<Json> {
  const sm = new StateMachine(
    { StartAt: 'Evaluate', States: { Evaluate: { Type: 'Pass', Parameters: template, End: true } } } as never,
    { validationOptions: { noValidate: true } },
  );
  return async (input, context) => (await sm.run(input as never, { context } as never).result) as Json;
}

function statesError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}
