import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { FsObjectStore } from '../lambdas/platform/fs-object-store';
import { createOnnxScorer, type Scorer } from '../lambdas/serving/inference/session';
import { kserveResponse, tensorsFromV2 } from '../lambdas/serving/sagemaker/kserve';
import {
  AwsServiceError,
  type RunningAwsService,
  readRequestBody,
  sendAnswer,
  serveAwsApi,
} from './aws-service-server';
import { resolveValue } from './resources';
import type { LocalPlan } from './template';

// biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON, checked field by field
type JsonObject = Record<string, any>;

/** An error of SageMaker's APIs: its type goes in `x-amzn-ErrorType` and `__type`, as the SDKs read it. */
export class SageMakerApiError extends AwsServiceError {}

/** An `AWS::SageMaker::Model` (or one CreateModel made): where its model repository is. */
export interface SageMakerModel {
  readonly ModelName: string;
  readonly ExecutionRoleArn: string;
  readonly PrimaryContainer: {
    readonly Image?: string;
    readonly Environment?: Record<string, string>;
    readonly ModelDataUrl?: string;
    readonly ModelDataSource?: {
      S3DataSource?: { S3Uri?: string; S3DataType?: string; CompressionType?: string };
    };
  };
  readonly CreationTime: number;
}

export interface ProductionVariant {
  readonly VariantName: string;
  readonly ModelName: string;
  readonly InitialVariantWeight: number;
  readonly InstanceType?: string;
  readonly InitialInstanceCount?: number;
}

export interface SageMakerEndpointConfig {
  readonly EndpointConfigName: string;
  readonly ProductionVariants: readonly ProductionVariant[];
  readonly KmsKeyId?: string;
  readonly CreationTime: number;
}

interface VariantState {
  VariantName: string;
  ModelName: string;
  CurrentWeight: number;
  DesiredWeight: number;
  CurrentInstanceCount: number;
  DesiredInstanceCount: number;
  InstanceType?: string;
}

interface EndpointState {
  EndpointName: string;
  EndpointConfigName: string;
  EndpointStatus: 'Creating' | 'Updating' | 'InService' | 'Failed';
  FailureReason?: string;
  variants: VariantState[];
  CreationTime: number;
  LastModifiedTime: number;
}

interface State {
  /** The template's resources this state grew from: a redeploy with others starts over. */
  origin: string;
  models: Record<string, SageMakerModel>;
  configs: Record<string, SageMakerEndpointConfig>;
  endpoints: Record<string, EndpointState>;
}

/** One variant's container: Triton's model repository, loaded into an onnxruntime session. */
interface LoadedModel {
  readonly tritonName: string;
  readonly version: string;
  readonly scorer: Scorer;
}

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const seconds = (ms: number) => ms / 1000;

/**
 * Reads the template's `AWS::SageMaker::Model`, `EndpointConfig` and `Endpoint` resources as
 * SageMaker's control plane would hold them after `cdk deploy`: names (the template's or the
 * logical id), the models' S3 locations resolved to the local buckets, the variants' weights.
 *
 * @example
 * readSageMakerResources(plan).endpoints['mlops-local-serving'].variants; // [{ VariantName: 'blue', CurrentWeight: 1, ... }, ...]
 */
export function readSageMakerResources(plan: LocalPlan): Omit<State, 'origin'> {
  const resources = plan.template.Resources;
  const nameOf = (id: string, prop: string) => {
    const p = resources[id]?.Properties ?? {};
    return p[prop] !== undefined ? (resolveValue(p[prop], plan) ?? id) : id;
  };
  const refName = (v: unknown, attr: string): string | undefined => {
    const g = v && typeof v === 'object' ? (v as Record<string, unknown>)['Fn::GetAtt'] : undefined;
    if (Array.isArray(g) && g[1] === attr) return nameOf(String(g[0]), attr);
    const ref = v && typeof v === 'object' ? (v as { Ref?: unknown }).Ref : undefined;
    if (typeof ref === 'string') return nameOf(ref, attr);
    return typeof v === 'string' ? v : undefined;
  };
  const str = (v: unknown) => resolveValue(v, plan) ?? '';
  const out: Omit<State, 'origin'> = { models: {}, configs: {}, endpoints: {} };
  const created = Date.now();
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::SageMaker::Model') {
      const c = p.PrimaryContainer ?? {};
      const s3 = c.ModelDataSource?.S3DataSource;
      const name = nameOf(id, 'ModelName');
      out.models[name] = {
        ModelName: name,
        ExecutionRoleArn: str(p.ExecutionRoleArn),
        PrimaryContainer: {
          ...(c.Image ? { Image: str(c.Image) } : {}),
          Environment: Object.fromEntries(Object.entries(c.Environment ?? {}).map(([k, v]) => [k, str(v)])),
          ...(c.ModelDataUrl ? { ModelDataUrl: str(c.ModelDataUrl) } : {}),
          ...(s3
            ? {
                ModelDataSource: {
                  S3DataSource: {
                    S3Uri: str(s3.S3Uri),
                    S3DataType: String(s3.S3DataType ?? 'S3Prefix'),
                    CompressionType: String(s3.CompressionType ?? 'None'),
                  },
                },
              }
            : {}),
        },
        CreationTime: created,
      };
    }
  }
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (r.Type !== 'AWS::SageMaker::EndpointConfig') continue;
    const name = nameOf(id, 'EndpointConfigName');
    out.configs[name] = {
      EndpointConfigName: name,
      ProductionVariants: ((p.ProductionVariants ?? []) as JsonObject[]).map((v) => ({
        VariantName: String(v.VariantName),
        ModelName: refName(v.ModelName, 'ModelName') ?? '',
        InitialVariantWeight: Number(v.InitialVariantWeight ?? 1),
        ...(v.InstanceType ? { InstanceType: String(v.InstanceType) } : {}),
        InitialInstanceCount: Number(v.InitialInstanceCount ?? 1),
      })),
      ...(p.KmsKeyId ? { KmsKeyId: str(p.KmsKeyId) } : {}),
      CreationTime: created,
    };
  }
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (r.Type !== 'AWS::SageMaker::Endpoint') continue;
    const name = nameOf(id, 'EndpointName');
    const configName = refName(p.EndpointConfigName, 'EndpointConfigName') ?? '';
    const config = out.configs[configName];
    if (!config) throw new Error(`template: endpoint ${id} names no endpoint config of the template`);
    out.endpoints[name] = {
      EndpointName: name,
      EndpointConfigName: configName,
      EndpointStatus: 'InService',
      variants: variantsOf(config),
      CreationTime: created,
      LastModifiedTime: created,
    };
  }
  return out;
}

function variantsOf(config: SageMakerEndpointConfig): VariantState[] {
  return config.ProductionVariants.map((v) => ({
    VariantName: v.VariantName,
    ModelName: v.ModelName,
    CurrentWeight: v.InitialVariantWeight,
    DesiredWeight: v.InitialVariantWeight,
    CurrentInstanceCount: v.InitialInstanceCount ?? 1,
    DesiredInstanceCount: v.InitialInstanceCount ?? 1,
    ...(v.InstanceType ? { InstanceType: v.InstanceType } : {}),
  }));
}

/** An invocation's answer as the runtime API sends it. */
export interface InvocationResult {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
}

export interface LocalSageMakerOptions {
  /** The local object store's root (`<root>/<bucket>/<key>`): model repositories are read from it. */
  readonly s3Root: string;
  /** Where endpoint state persists across restarts. @default - in memory */
  readonly dataDir?: string;
  /** Receives each invocation's metrics as an EMF line (the local alarms read them). */
  readonly metrics?: (line: string) => void;
  /** Picks a variant by weight. @default Math.random */
  readonly random?: () => number;
}

/**
 * SageMaker hosting for the template's endpoints, on this machine: the control plane's
 * models, endpoint configs and endpoints (Create/Describe Model and EndpointConfig,
 * Describe/UpdateEndpoint, UpdateEndpointWeightsAndCapacities), and the runtime's
 * InvokeEndpoint, which picks a production variant by its weight (or the target variant)
 * and scores the KServe v2 request as Triton's ONNX Runtime backend would, with the variant's
 * model repository loaded from the local bucket into onnxruntime-node. Every invocation emits
 * the `AWS/SageMaker` metrics (Invocations, Invocation4XX/5XXErrors, ModelLatency in µs) per
 * endpoint and variant, which the template's alarms evaluate.
 *
 * @example
 * const sm = new LocalSageMaker(plan, { s3Root, metrics: (l) => alarms.ingest(l) });
 * const api = await startSageMakerApi(sm);
 */
export class LocalSageMaker {
  private state: State;
  private readonly stateFile: string | undefined;
  private readonly store: FsObjectStore;
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  private readonly failedAt = new Map<string, number>();
  private readonly random: () => number;

  constructor(
    plan: LocalPlan,
    private readonly options: LocalSageMakerOptions,
  ) {
    this.store = new FsObjectStore(options.s3Root);
    this.random = options.random ?? Math.random;
    const fromTemplate = readSageMakerResources(plan);
    const origin = createHash('sha256')
      .update(
        JSON.stringify({ ...fromTemplate, models: Object.keys(fromTemplate.models) }, (k, v) =>
          k.endsWith('Time') ? 0 : v,
        ),
      )
      .digest('hex');
    this.stateFile = options.dataDir ? join(options.dataDir, 'sagemaker', 'state.json') : undefined;
    const saved =
      this.stateFile && existsSync(this.stateFile)
        ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as State)
        : undefined;
    this.state = saved?.origin === origin ? saved : { origin, ...fromTemplate };
  }

  /** The endpoints' names (what `SAGEMAKER_ENDPOINT` of the front names). */
  get endpointNames(): string[] {
    return Object.keys(this.state.endpoints);
  }

  private save(): void {
    if (!this.stateFile) return;
    mkdirSync(join(this.stateFile, '..'), { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.stateFile);
  }

  private endpoint(name: unknown): EndpointState {
    const e = this.state.endpoints[String(name)];
    if (!e)
      throw new SageMakerApiError(400, 'ValidationException', `Could not find endpoint "${String(name)}".`);
    return e;
  }

  private arn(kind: string, name: string) {
    return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:${kind}/${name.toLowerCase()}`;
  }

  // ---- control plane (AWS JSON 1.1, X-Amz-Target: SageMaker.<Operation>) ----

  /** Runs one control-plane operation. */
  async operation(op: string, input: JsonObject): Promise<JsonObject> {
    switch (op) {
      case 'CreateModel':
        return this.createModel(input);
      case 'DescribeModel': {
        const m = this.state.models[String(input.ModelName)];
        if (!m)
          throw new SageMakerApiError(
            400,
            'ValidationException',
            `Could not find model "${input.ModelName}".`,
          );
        return { ...m, CreationTime: seconds(m.CreationTime), ModelArn: this.arn('model', m.ModelName) };
      }
      case 'CreateEndpointConfig':
        return this.createEndpointConfig(input);
      case 'DescribeEndpointConfig': {
        const c = this.state.configs[String(input.EndpointConfigName)];
        if (!c)
          throw new SageMakerApiError(
            400,
            'ValidationException',
            `Could not find endpoint configuration "${input.EndpointConfigName}".`,
          );
        return {
          ...c,
          CreationTime: seconds(c.CreationTime),
          EndpointConfigArn: this.arn('endpoint-config', c.EndpointConfigName),
        };
      }
      case 'DescribeEndpoint':
        return this.describeEndpoint(this.endpoint(input.EndpointName));
      case 'UpdateEndpoint':
        return this.updateEndpoint(input);
      case 'UpdateEndpointWeightsAndCapacities':
        return this.updateWeights(input);
      default:
        throw new SageMakerApiError(
          400,
          'UnknownOperationException',
          `The local SageMaker does not implement ${op}`,
        );
    }
  }

  private createModel(input: JsonObject): JsonObject {
    const name = String(input.ModelName ?? '');
    if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name))
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `ModelName '${name}' is not a valid model name.`,
      );
    if (this.state.models[name])
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `Cannot create already existing model "${this.arn('model', name)}".`,
      );
    const c = (input.PrimaryContainer ?? {}) as JsonObject;
    if (!c.ModelDataUrl && !c.ModelDataSource?.S3DataSource?.S3Uri)
      throw new SageMakerApiError(
        400,
        'ValidationException',
        'PrimaryContainer needs ModelDataUrl or ModelDataSource.',
      );
    this.state.models[name] = {
      ModelName: name,
      ExecutionRoleArn: String(input.ExecutionRoleArn ?? ''),
      PrimaryContainer: c as SageMakerModel['PrimaryContainer'],
      CreationTime: Date.now(),
    };
    this.save();
    return { ModelArn: this.arn('model', name) };
  }

  private createEndpointConfig(input: JsonObject): JsonObject {
    const name = String(input.EndpointConfigName ?? '');
    if (this.state.configs[name])
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `Cannot create already existing endpoint configuration "${this.arn('endpoint-config', name)}".`,
      );
    const variants = (input.ProductionVariants ?? []) as JsonObject[];
    if (!variants.length)
      throw new SageMakerApiError(
        400,
        'ValidationException',
        'ProductionVariants must list at least one variant.',
      );
    for (const v of variants) {
      if (!this.state.models[String(v.ModelName)])
        throw new SageMakerApiError(
          400,
          'ValidationException',
          `Could not find model "${this.arn('model', String(v.ModelName))}".`,
        );
    }
    this.state.configs[name] = {
      EndpointConfigName: name,
      ProductionVariants: variants.map((v) => ({
        VariantName: String(v.VariantName),
        ModelName: String(v.ModelName),
        InitialVariantWeight: Number(v.InitialVariantWeight ?? 1),
        ...(v.InstanceType ? { InstanceType: String(v.InstanceType) } : {}),
        InitialInstanceCount: Number(v.InitialInstanceCount ?? 1),
      })),
      ...(input.KmsKeyId ? { KmsKeyId: String(input.KmsKeyId) } : {}),
      CreationTime: Date.now(),
    };
    this.save();
    return { EndpointConfigArn: this.arn('endpoint-config', name) };
  }

  private describeEndpoint(e: EndpointState): JsonObject {
    return {
      EndpointName: e.EndpointName,
      EndpointArn: this.arn('endpoint', e.EndpointName),
      EndpointConfigName: e.EndpointConfigName,
      EndpointStatus: e.EndpointStatus,
      ...(e.FailureReason ? { FailureReason: e.FailureReason } : {}),
      ProductionVariants: e.variants.map((v) => ({
        VariantName: v.VariantName,
        CurrentWeight: v.CurrentWeight,
        DesiredWeight: v.DesiredWeight,
        CurrentInstanceCount: v.CurrentInstanceCount,
        DesiredInstanceCount: v.DesiredInstanceCount,
        DeployedImages: [{ SpecifiedImage: this.state.models[v.ModelName]?.PrimaryContainer.Image ?? '' }],
      })),
      CreationTime: seconds(e.CreationTime),
      LastModifiedTime: seconds(e.LastModifiedTime),
    };
  }

  /**
   * Moves the endpoint to another config, as SageMaker does: `Updating` while the new
   * variants' containers start (here: their model repositories load), then `InService` on
   * the new config; when a container cannot start, the endpoint stays on its old config and
   * `FailureReason` says why.
   */
  private updateEndpoint(input: JsonObject): JsonObject {
    const e = this.endpoint(input.EndpointName);
    if (e.EndpointStatus !== 'InService')
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `Cannot update in-progress endpoint "${this.arn('endpoint', e.EndpointName)}".`,
      );
    const config = this.state.configs[String(input.EndpointConfigName)];
    if (!config)
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `Could not find endpoint configuration "${input.EndpointConfigName}".`,
      );
    e.EndpointStatus = 'Updating';
    e.LastModifiedTime = Date.now();
    delete e.FailureReason;
    this.save();
    void (async () => {
      const failures: string[] = [];
      for (const v of config.ProductionVariants) {
        try {
          await this.load(v.ModelName, true);
        } catch (err) {
          failures.push(`variant ${v.VariantName}: ${(err as Error).message}`);
        }
      }
      if (failures.length) {
        e.FailureReason =
          `The primary container for production variant did not pass the ping health check. ${failures.join('; ')}`.slice(
            0,
            1024,
          );
      } else {
        e.EndpointConfigName = config.EndpointConfigName;
        e.variants = variantsOf(config);
      }
      e.EndpointStatus = 'InService';
      e.LastModifiedTime = Date.now();
      this.save();
    })();
    return { EndpointArn: this.arn('endpoint', e.EndpointName) };
  }

  private updateWeights(input: JsonObject): JsonObject {
    const e = this.endpoint(input.EndpointName);
    if (e.EndpointStatus !== 'InService')
      throw new SageMakerApiError(
        400,
        'ValidationException',
        `Cannot update in-progress endpoint "${this.arn('endpoint', e.EndpointName)}".`,
      );
    const desired = (input.DesiredWeightsAndCapacities ?? []) as JsonObject[];
    for (const d of desired) {
      const v = e.variants.find((x) => x.VariantName === d.VariantName);
      if (!v)
        throw new SageMakerApiError(
          400,
          'ValidationException',
          `The variant name(s) [${d.VariantName}] is/are not present in the endpoint.`,
        );
      if (d.DesiredWeight !== undefined && !(Number(d.DesiredWeight) >= 0))
        throw new SageMakerApiError(
          400,
          'ValidationException',
          `DesiredWeight must be >= 0, got ${d.DesiredWeight}.`,
        );
    }
    for (const d of desired) {
      const v = e.variants.find((x) => x.VariantName === d.VariantName) as VariantState;
      if (d.DesiredWeight !== undefined) v.DesiredWeight = v.CurrentWeight = Number(d.DesiredWeight);
      if (d.DesiredInstanceCount !== undefined)
        v.DesiredInstanceCount = v.CurrentInstanceCount = Number(d.DesiredInstanceCount);
    }
    if (e.variants.every((v) => v.CurrentWeight === 0))
      throw new SageMakerApiError(
        400,
        'ValidationException',
        'At least one variant must have a weight above 0.',
      );
    e.LastModifiedTime = Date.now();
    this.save();
    return { EndpointArn: this.arn('endpoint', e.EndpointName) };
  }

  // ---- the container: Triton's model repository in onnxruntime-node ----

  /**
   * Loads a model's repository from its S3 location: `<name>/config.pbtxt` and the highest
   * `<name>/<version>/model.onnx` (Triton's layout; `SAGEMAKER_TRITON_DEFAULT_MODEL_NAME`
   * picks the model when there are several). A failed load is retried after a second.
   */
  private load(modelName: string, fresh = false): Promise<LoadedModel> {
    const at = this.failedAt.get(modelName);
    if (fresh || (at !== undefined && Date.now() - at >= 1000)) {
      this.loaded.delete(modelName);
      this.failedAt.delete(modelName);
    }
    let p = this.loaded.get(modelName);
    if (!p) {
      p = this.loadRepository(modelName);
      p.catch(() => this.failedAt.set(modelName, Date.now()));
      this.loaded.set(modelName, p);
    }
    return p;
  }

  private async loadRepository(modelName: string): Promise<LoadedModel> {
    const model = this.state.models[modelName];
    if (!model) throw new Error(`model ${modelName} does not exist`);
    const uri =
      model.PrimaryContainer.ModelDataSource?.S3DataSource?.S3Uri ??
      model.PrimaryContainer.ModelDataUrl ??
      '';
    const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (!m) throw new Error(`model data '${uri}' is not an s3:// location`);
    const [, bucket, rawPrefix] = m as unknown as [string, string, string];
    if (
      model.PrimaryContainer.ModelDataSource?.S3DataSource?.CompressionType === 'Gzip' ||
      uri.endsWith('.tar.gz')
    )
      throw new Error('the local runtime reads uncompressed model repositories (CompressionType None) only');
    const prefix = rawPrefix && !rawPrefix.endsWith('/') ? `${rawPrefix}/` : rawPrefix;
    const objects = await this.store.list(bucket, prefix);
    const configs = objects
      .map((o) => o.key.slice(prefix.length))
      .filter((k) => /^[^/]+\/config\.pbtxt$/.test(k))
      .map((k) => k.split('/')[0] as string);
    const wanted = model.PrimaryContainer.Environment?.SAGEMAKER_TRITON_DEFAULT_MODEL_NAME;
    const tritonName = wanted ?? (configs.length === 1 ? configs[0] : undefined);
    if (!tritonName || !configs.includes(tritonName))
      throw new Error(
        `no Triton model repository at ${uri}${wanted ? ` for model '${wanted}'` : ''} (found ${configs.length ? configs.join(', ') : 'no config.pbtxt'})`,
      );
    const versions = objects
      .map(
        (o) =>
          new RegExp(`^${escapeRegExp(tritonName)}/(\\d+)/model\\.onnx$`).exec(
            o.key.slice(prefix.length),
          )?.[1],
      )
      .filter((v): v is string => v !== undefined)
      .sort((a, b) => Number(a) - Number(b));
    const version = versions.at(-1);
    if (!version) throw new Error(`no <version>/model.onnx under ${uri}${tritonName}/`);
    const bytes = await this.store.get(bucket, `${prefix}${tritonName}/${version}/model.onnx`);
    if (!bytes) throw new Error(`model.onnx of ${tritonName} version ${version} vanished`);
    return { tritonName, version, scorer: await createOnnxScorer(bytes) };
  }

  // ---- the runtime: InvokeEndpoint ----

  /** Picks the variant by weight (or the target variant) and scores the KServe v2 request on it. */
  async invoke(endpointName: string, body: Uint8Array, targetVariant?: string): Promise<InvocationResult> {
    const e = this.endpoint(endpointName);
    let variant: VariantState | undefined;
    if (targetVariant) {
      variant = e.variants.find((v) => v.VariantName === targetVariant);
      if (!variant)
        throw new SageMakerApiError(
          400,
          'ValidationError',
          `Variant ${targetVariant} not found for endpoint ${endpointName}.`,
        );
    } else {
      const total = e.variants.reduce((s, v) => s + v.CurrentWeight, 0);
      let r = this.random() * total;
      for (const v of e.variants) {
        r -= v.CurrentWeight;
        if (r < 0 && v.CurrentWeight > 0) {
          variant = v;
          break;
        }
      }
      variant ??= e.variants.filter((v) => v.CurrentWeight > 0).at(-1);
      if (!variant)
        throw new SageMakerApiError(
          400,
          'ValidationError',
          `Endpoint ${endpointName} has no variant with weight.`,
        );
    }
    const started = performance.now();
    const answer = await this.score(variant, body);
    const micros = Math.round((performance.now() - started) * 1000);
    this.options.metrics?.(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: 'AWS/SageMaker',
              Dimensions: [['EndpointName', 'VariantName']],
              Metrics: [
                { Name: 'Invocations', Unit: 'None' },
                { Name: 'Invocation4XXErrors', Unit: 'None' },
                { Name: 'Invocation5XXErrors', Unit: 'None' },
                { Name: 'ModelLatency', Unit: 'Microseconds' },
              ],
            },
          ],
        },
        EndpointName: endpointName,
        VariantName: variant.VariantName,
        Invocations: 1,
        Invocation4XXErrors: answer.status >= 400 && answer.status < 500 ? 1 : 0,
        Invocation5XXErrors: answer.status >= 500 ? 1 : 0,
        ModelLatency: micros,
      }),
    );
    if (answer.status !== 200) {
      // The container's error reaches the caller as ModelError (424) with its status and message.
      throw new SageMakerApiError(
        424,
        'ModelError',
        `Received client error (${answer.status}) from primary with message "${answer.message}". See the local runtime's log.`,
        {
          OriginalStatusCode: answer.status,
          OriginalMessage: answer.message,
          LogStreamArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/${endpointName}`,
        },
      );
    }
    return {
      status: 200,
      body: new TextEncoder().encode(JSON.stringify(answer.body)),
      headers: {
        'content-type': 'application/json',
        'x-amzn-invoked-production-variant': variant.VariantName,
      },
    };
  }

  /** What Triton answers: 200 with outputs, 400 for a request it cannot parse, 500 when the model fails. */
  private async score(
    variant: VariantState,
    body: Uint8Array,
  ): Promise<{ status: 200; body: JsonObject } | { status: 400 | 500 | 503; message: string }> {
    let model: LoadedModel;
    try {
      model = await this.load(variant.ModelName);
    } catch (err) {
      return { status: 503, message: `model not loaded: ${(err as Error).message}` };
    }
    let req: JsonObject;
    let feeds: ReturnType<typeof tensorsFromV2>;
    try {
      req = JSON.parse(new TextDecoder().decode(body)) as JsonObject;
      feeds = tensorsFromV2(req.inputs);
    } catch (err) {
      return { status: 400, message: `failed to parse the request JSON: ${(err as Error).message}` };
    }
    const names = model.scorer.outputs.map((o) => o.name);
    const wanted = Array.isArray(req.outputs)
      ? (req.outputs as JsonObject[]).map((o) => String(o.name))
      : names;
    const unknown = wanted.find((n) => !names.includes(n));
    if (unknown)
      return {
        status: 400,
        message: `unexpected inference output '${unknown}' for model '${model.tritonName}'`,
      };
    try {
      const out = await model.scorer.run(feeds, wanted);
      return {
        status: 200,
        body: kserveResponse(
          model.tritonName,
          model.version,
          out,
          typeof req.id === 'string' ? req.id : undefined,
        ),
      };
    } catch (err) {
      return { status: 500, message: `onnx runtime error: ${(err as Error).message.split('\n')[0]}` };
    }
  }

  /** Releases every loaded session. */
  async close(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const p of all) await p.then((m) => m.scorer.release()).catch(() => undefined);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Both SDK clients point here: `AWS_ENDPOINT_URL_SAGEMAKER` and `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`. */
export type RunningSageMakerApi = RunningAwsService;

/**
 * Serves SageMaker's control plane (AWS JSON 1.1, as `@aws-sdk/client-sagemaker` calls it)
 * and runtime (`POST /endpoints/{EndpointName}/invocations`, as
 * `@aws-sdk/client-sagemaker-runtime` calls it) on one local port. Requests must be SigV4
 * signed for service `sagemaker` with one of `credentials` (the local key pair functions
 * and tests use), verified as AWS does: a wrong key or signature is refused with 403.
 *
 * @example
 * const api = await startSageMakerApi(sm, () => [{ accessKeyId: 'local', secretAccessKey: 'local' }]);
 * new SageMakerRuntimeClient({ endpoint: api.url }).send(new InvokeEndpointCommand({ ... }));
 */
export async function startSageMakerApi(
  sm: LocalSageMaker,
  credentials: () => readonly { accessKeyId: string; secretAccessKey: string }[],
  port = 0,
): Promise<RunningSageMakerApi> {
  const send = (
    res: ServerResponse,
    status: number,
    body: Uint8Array | string,
    headers: Record<string, string>,
  ) => sendAnswer(res, status, body, headers);
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = new Uint8Array(await readRequestBody(req));
    const url = new URL(req.url ?? '/', 'http://localhost');
    await verifySignature(req, url, body, credentials());
    const invoke = /^\/endpoints\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method === 'POST' && invoke) {
      const target = req.headers['x-amzn-sagemaker-target-variant'];
      const out = await sm.invoke(
        decodeURIComponent(invoke[1] as string),
        body,
        typeof target === 'string' ? target : undefined,
      );
      return send(res, out.status, out.body, out.headers);
    }
    const op = /^SageMaker\.(\w+)$/.exec(String(req.headers['x-amz-target'] ?? ''))?.[1];
    if (req.method === 'POST' && url.pathname === '/' && op) {
      let input: JsonObject;
      try {
        input = body.length ? (JSON.parse(new TextDecoder().decode(body)) as JsonObject) : {};
      } catch {
        throw new SageMakerApiError(400, 'SerializationException', 'Could not parse request body into json');
      }
      const out = await sm.operation(op, input);
      return send(res, 200, JSON.stringify(out), { 'content-type': 'application/x-amz-json-1.1' });
    }
    throw new SageMakerApiError(
      404,
      'UnknownOperationException',
      `No operation ${req.method} ${url.pathname}`,
    );
  };
  return serveAwsApi(
    route,
    (res, e) =>
      send(
        res,
        e.status,
        JSON.stringify({ __type: e.type, Message: e.message, message: e.message, ...e.extra }),
        {
          'content-type': 'application/json',
          'x-amzn-errortype': e.type,
        },
      ),
    { port, fault: 'InternalFailure' },
  );
}

/** Checks an AWS4-HMAC-SHA256 signature for service `sagemaker` against the local keys. */
async function verifySignature(
  req: IncomingMessage,
  url: URL,
  body: Uint8Array,
  credentials: readonly { accessKeyId: string; secretAccessKey: string }[],
): Promise<void> {
  const denied = (type: string, message: string) => new SageMakerApiError(403, type, message);
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
    auth,
  );
  if (!m) throw denied('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const [keyId, , region, service] = (m[1] as string).split('/');
  const cred = credentials.find((c) => c.accessKeyId === keyId);
  if (!cred)
    throw denied('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'sagemaker')
    throw denied('InvalidSignatureException', "Credential should be scoped to correct service: 'sagemaker'.");
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d)
    throw denied(
      'IncompleteSignatureException',
      "Authorization header requires existence of a 'X-Amz-Date' header.",
    );
  const signedAt = Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!);
  if (Math.abs(Date.now() - signedAt) > 5 * 60 * 1000)
    throw denied('InvalidSignatureException', 'Signature expired.');
  const signed = (m[2] as string).split(';');
  const headers: Record<string, string> = {};
  for (const h of signed) {
    const v = req.headers[h];
    if (v === undefined) throw denied('InvalidSignatureException', `Signed header '${h}' is missing.`);
    headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service,
    region: region ?? REGION,
    credentials: cred,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      path: url.pathname,
      query,
      headers,
      body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signed) },
  );
  const want = /Signature=([0-9a-f]+)/.exec(String(expected.headers.authorization))?.[1] ?? '';
  const got = m[3] as string;
  if (want.length !== got.length || !timingSafeEqual(Buffer.from(want), Buffer.from(got)))
    throw denied(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
}

/** The local SageMaker of a runtime: the hosting state, its API and the variables that point SDKs at it. */
export interface LocalSageMakerService {
  readonly sagemaker: LocalSageMaker;
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts SageMaker hosting for a template that defines SageMaker endpoints (servingBackend
 * 'sagemaker'); undefined when it defines none, so the Lambda backend starts nothing more.
 *
 * @example
 * const sm = await startLocalSageMaker(plan, { s3Root, dataDir, metrics: (l) => alarms.ingest(l) }, () => keys);
 * env = { ...env, ...sm?.env };
 */
export async function startLocalSageMaker(
  plan: LocalPlan,
  options: LocalSageMakerOptions,
  credentials: () => readonly { accessKeyId: string; secretAccessKey: string }[],
): Promise<LocalSageMakerService | undefined> {
  if (!Object.values(plan.template.Resources).some((r) => r.Type === 'AWS::SageMaker::Endpoint'))
    return undefined;
  const sagemaker = new LocalSageMaker(plan, options);
  const api = await startSageMakerApi(sagemaker, credentials);
  return {
    sagemaker,
    env: { AWS_ENDPOINT_URL_SAGEMAKER: api.url, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: api.url },
    async close() {
      await api.close();
      await sagemaker.close();
    },
  };
}
