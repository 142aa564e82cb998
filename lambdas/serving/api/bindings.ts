import { createHash } from 'node:crypto';
import type { Tensor } from 'onnxruntime-node';
import { MlopsError, NotFoundError, toMlopsError } from '../../platform/errors';
import { bind, HttpResult, type RequestContext, type RouteBinding } from '../../platform/http/route';
import type { ArtifactSigner } from '../../tracking/artifacts/signer';
import type { Dataset } from '../../training/data/dataset';
import {
  columnsForLog,
  datasetForEntities,
  type OnlineFeatures,
  rowsOf,
  type Scored,
  scoreDataset,
  scoreFeeds,
  tensorValues,
} from '../domain/predict';
import type { PredictionFailure, PredictionLog, PredictionRecord } from '../domain/prediction-log';
import { rowsToDataset, v2Datatype, v2Feeds } from '../domain/rows';
import {
  type ModelHost,
  type ModelLoaderDeps,
  resolvePin,
  type ServedModel,
  versionFiles,
} from '../domain/served-model';
import {
  exportRoute,
  inferRoute,
  inferVersionRoute,
  liveRoute,
  metadataRoute,
  metadataVersionRoute,
  modelReadyRoute,
  modelVersionReadyRoute,
  predictRoute,
  serverReadyRoute,
} from './routes';

/** Seconds an export's download link stays valid. */
export const EXPORT_URL_SECONDS = 300;

/** A not-ready answer: retry after the host's next load attempt (MODEL_RETRY_MS, 1 s by default). */
const NOT_READY_HEADERS = { 'content-type': 'application/json', 'retry-after': '1' };

/** What the serving API needs: the model host, the registry (read), features, the log, a signer. */
export interface ServingDeps {
  /** The registered model this function serves (the pin's name). */
  readonly modelName: string;
  readonly host: ModelHost;
  readonly files: Pick<ModelLoaderDeps, 'registry' | 'runs' | 'store' | 'bucket'>;
  readonly online?: OnlineFeatures;
  readonly log: PredictionLog;
  readonly signerFor: (ctx: RequestContext) => ArtifactSigner;
  /**
   * Who scored outputs when a remote endpoint chose (the SageMaker backend: its production
   * variant and the registered version it serves); undefined means this function's model.
   */
  readonly answeredBy?: (
    outputs: Readonly<Record<string, Tensor>>,
  ) => { variant: string; version: string } | undefined;
  /** A/B tests: assigns a request's `unit_id` to the running experiment's arm. @default - none */
  readonly arms?: ArmPicker;
}

/** A running experiment's choice for one unit: its arm and the model that scores it. */
export interface ArmChoice {
  readonly experiment: string;
  readonly arm: string;
  readonly model: ServedModel;
}

/** Assigns units to a running experiment's arms (lambdas/experiments/serving-arms.ts). */
export interface ArmPicker {
  /** The arm of the unit, or undefined when the served model runs no experiment. */
  pick(unitId: string, served: ServedModel): Promise<ArmChoice | undefined>;
}

const ORT_TO_V2: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int64: 'INT64',
  int32: 'INT32',
  int8: 'INT8',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
  float16: 'FP16',
};

/**
 * The serving API's route implementations over injected dependencies, so tests run them
 * in-process with a real session, store and registry.
 *
 * @example
 * export const handler = httpApi(servingBindings(deps));
 */
export function servingBindings(deps: ServingDeps): RouteBinding[] {
  /** The served model for a request naming `name` (and perhaps `version`): 404 for any other. */
  const served = async (name: string, version?: string): Promise<ServedModel> => {
    if (name !== deps.modelName) {
      throw new NotFoundError(`Model '${name}' is not served here; this endpoint serves '${deps.modelName}'`);
    }
    const model = await deps.host.model();
    if (version !== undefined && version !== model.version) {
      const exists = await deps.files.registry.getVersion(name, version);
      throw new NotFoundError(
        exists
          ? `Version ${version} of '${name}' is not served here; the served version is ${model.version}`
          : `Model '${name}' has no version ${version}`,
      );
    }
    return model;
  };

  /**
   * Scores and logs one request; a failure is logged too, then rethrown. With a `unitId`
   * and no version asked for, a running experiment's arm chooses the model.
   */
  const scored = async <T>(
    api: 'v1' | 'v2',
    name: string,
    version: string | undefined,
    ctx: RequestContext,
    unitId: string | undefined,
    work: (
      model: ServedModel,
      arm?: ArmChoice,
    ) => Promise<{
      result: T;
      scored: Scored;
      dataset?: Dataset;
      entities?: Record<string, readonly unknown[]>;
    }>,
  ): Promise<T> => {
    const started = performance.now();
    let model: ServedModel | undefined;
    let arm: ArmChoice | undefined;
    try {
      model = await served(name, version);
      if (unitId !== undefined && version === undefined && deps.arms) {
        arm = await deps.arms.pick(unitId, model);
        if (arm) model = arm.model;
      }
      const out = await work(model, arm);
      const by = deps.answeredBy?.(out.scored.outputs) ?? model;
      const record: PredictionRecord = {
        requestId: ctx.requestId,
        model: model.name,
        version: by.version,
        variant: by.variant,
        api,
        latencyMs: performance.now() - started,
        inputs: out.dataset ? columnsForLog(out.dataset) : {},
        predictions: out.scored.predictions,
        ...(out.entities ? { entities: out.entities } : {}),
        ...(arm ? { experiment: arm.experiment, arm: arm.arm } : {}),
        ...(unitId !== undefined ? { unitId } : {}),
        // The range is the scoring version's own (not another variant's, on a remote endpoint).
        ...(model.predictionRange && by.version === model.version
          ? { predictionRange: model.predictionRange }
          : {}),
      };
      // One line per request: the HTTP request line goes inside the prediction line, which is
      // then written when the response is final (still before the handler returns).
      if (ctx.requestLog) ctx.requestLog.fold((request) => deps.log.success(record, request));
      else deps.log.success(record);
      return out.result;
    } catch (err) {
      const e = toMlopsError(err);
      const failure: PredictionFailure = {
        requestId: ctx.requestId,
        model: model?.name ?? name,
        version: model?.version ?? version ?? '',
        variant: model?.variant ?? '',
        api,
        latencyMs: performance.now() - started,
        status: e.status,
        errorCode: e.code,
      };
      if (ctx.requestLog) ctx.requestLog.fold((request) => deps.log.failure(failure, request));
      else deps.log.failure(failure);
      throw err;
    }
  };

  const infer = (
    req: {
      name: string;
      version?: string;
      id?: string;
      parameters?: Record<string, unknown>;
      inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[];
      outputs?: { name: string }[];
    },
    ctx: RequestContext,
  ) =>
    scored('v2', req.name, req.version, ctx, v2UnitId(req.parameters), async (model, arm) => {
      const wanted = req.outputs?.map((o) => o.name) ?? model.signature.outputs.map((o) => o.name);
      for (const o of wanted) {
        if (!model.scorer.outputs.some((m) => m.name === o))
          throw new MlopsError(
            'INVALID_PARAMETER_VALUE',
            `unknown output '${o}'; the model has: ${model.scorer.outputs.map((m) => m.name).join(', ')}`,
          );
      }
      const { feeds, rows, dataset } = v2Feeds(model.signature, req.inputs);
      const s = await scoreFeeds(model, feeds, rows, wanted);
      const by = deps.answeredBy?.(s.outputs) ?? model;
      return {
        scored: s,
        ...(dataset ? { dataset } : {}),
        result: {
          model_name: model.name,
          model_version: by.version,
          ...(req.id !== undefined ? { id: req.id } : {}),
          parameters: {
            variant: by.variant,
            request_id: ctx.requestId,
            ...(arm ? { experiment: arm.experiment, arm: arm.arm } : {}),
          },
          outputs: wanted.map((name) => v2Output(name, s.outputs[name]!)),
        },
      };
    });

  const metadata = async (req: { name: string; version?: string }) => {
    const model = await served(req.name, req.version);
    const sig = model.signature;
    return {
      name: model.name,
      versions: [model.version],
      platform: 'onnxruntime_onnx',
      inputs: sig.inputs.map((i) => ({ name: i.name, datatype: v2Datatype(i.type), shape: [-1, 1] })),
      outputs: sig.outputs.map((o) => {
        const m = model.scorer.outputs.find((x) => x.name === o.name);
        return {
          name: o.name,
          datatype: ORT_TO_V2[m?.type ?? ''] ?? 'BYTES',
          shape: (m?.shape ?? [-1]).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
        };
      }),
      parameters: {
        variant: model.variant,
        ...(sig.tensorInput
          ? {
              tensor_input: {
                name: sig.tensorInput.name,
                datatype: v2Datatype(sig.tensorInput.elementType),
                shape: [-1, sig.inputs.length],
              },
            }
          : {}),
        output_meanings: Object.fromEntries(sig.outputs.map((o) => [o.name, o.meaning])),
        sha256: model.sha256,
      },
    };
  };

  const ready = async (req: { name: string; version?: string }) => {
    if (req.name !== deps.modelName) {
      throw new NotFoundError(
        `Model '${req.name}' is not served here; this endpoint serves '${deps.modelName}'`,
      );
    }
    const state = await deps.host.status();
    if (state.ready && (req.version === undefined || req.version === state.model.version)) {
      return { name: req.name, ready: true, version: state.model.version };
    }
    // A loaded model asked about another version: that version is not here (404, as infer and
    // metadata answer); 503 is kept for a served version that did not load.
    if (state.ready) {
      throw new NotFoundError(
        `Model '${req.name}' version ${req.version} is not served here; the served version is ${state.model.version}`,
      );
    }
    return new HttpResult(
      503,
      JSON.stringify({ name: req.name, ready: false, error_code: 'MODEL_NOT_READY', message: state.reason }),
      NOT_READY_HEADERS,
    );
  };

  return [
    bind(inferRoute, infer),
    bind(inferVersionRoute, infer),
    bind(metadataRoute, metadata),
    bind(metadataVersionRoute, metadata),
    bind(modelReadyRoute, ready),
    bind(modelVersionReadyRoute, ready),
    bind(liveRoute, () => ({ live: true })),
    bind(serverReadyRoute, async () => {
      const state = await deps.host.status();
      if (state.ready) return { ready: true };
      return new HttpResult(
        503,
        JSON.stringify({ ready: false, error_code: 'MODEL_NOT_READY', message: state.reason }),
        NOT_READY_HEADERS,
      );
    }),
    bind(predictRoute, (req, ctx) =>
      scored('v1', req.name, undefined, ctx, req.unit_id, async (model, arm) => {
        const entities = req.entities;
        const records =
          req.instances ??
          req.dataframe_records ??
          req.dataframe_split?.data.map((row, i) => {
            const split = req.dataframe_split!;
            if (row.length !== split.columns.length)
              throw new MlopsError(
                'INVALID_PARAMETER_VALUE',
                `dataframe_split.data[${i}] has ${row.length} values for ${split.columns.length} columns`,
              );
            return Object.fromEntries(split.columns.map((c, j) => [c, row[j]]));
          });
        const dataset = entities
          ? await datasetForEntities(model, deps.online, entities)
          : rowsToDataset(model.signature, records ?? []);
        const s = await scoreDataset(model, dataset);
        const by = deps.answeredBy?.(s.outputs) ?? model;
        return {
          scored: s,
          dataset,
          ...(entities ? { entities } : {}),
          result: {
            model_name: model.name,
            model_version: by.version,
            variant: by.variant,
            request_id: ctx.requestId,
            ...(arm ? { experiment: arm.experiment, arm: arm.arm } : {}),
            predictions: Array.from(s.predictions, (v) => (Number.isFinite(v) ? v : null)),
            outputs: Object.fromEntries(
              model.signature.outputs.map((o) => [o.name, rowsOf(s.outputs[o.name]!, dataset.rowCount)]),
            ),
          },
        };
      }),
    ),
    bind(exportRoute, async (req, ctx) => {
      const mv = await resolvePin(deps.files.registry, { name: req.name, version: req.version });
      if (mv.status !== 'READY')
        throw new MlopsError(
          'INVALID_STATE',
          `Version ${mv.version} of '${mv.name}' is ${mv.status}; only READY versions export`,
        );
      const { files } = await versionFiles(deps.files, mv);
      return {
        model_name: mv.name,
        model_version: mv.version,
        onnx: {
          url: await deps.signerFor(ctx).presign(files.onnxKey, 'GET', EXPORT_URL_SECONDS),
          expires_in: EXPORT_URL_SECONDS,
          sha256: createHash('sha256').update(files.bytes).digest('hex'),
          size_bytes: files.bytes.byteLength,
          filename: 'model.onnx',
        },
        signature: files.signature,
      };
    }),
  ];
}

/** `parameters.unit_id` of an inference request: a string of 1-256 characters when present. */
function v2UnitId(parameters: Record<string, unknown> | undefined): string | undefined {
  const unit = parameters?.unit_id;
  if (unit === undefined) return undefined;
  if (typeof unit !== 'string' || unit.length === 0 || unit.length > 256) {
    throw new MlopsError(
      'INVALID_PARAMETER_VALUE',
      'parameters.unit_id must be a string of 1-256 characters (the unit, e.g. a user id, an A/B test assigns)',
    );
  }
  return unit;
}

function v2Output(name: string, t: Tensor) {
  return {
    name,
    datatype: ORT_TO_V2[t.type] ?? 'BYTES',
    shape: t.dims.map(Number),
    data: tensorValues(t),
  };
}
