import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  type SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
} from '@aws-sdk/client-sagemaker';
import type { LambdaControl } from '../deploy/workflow';
import { MODEL_VERSION_VARIABLE } from './layout';

export interface SageMakerControlOptions {
  /** Writes the version's Triton repository and answers its `s3://` prefix (packageForTriton). */
  readonly packageVersion: (model: string, version: string) => Promise<string>;
  /** The registered model served (its Triton model name). */
  readonly modelName: string;
  /** Longest pause between endpoint status polls (they start at 1 s and double). @default 15 */
  readonly pollSeconds?: number;
  /** Longest wait for an endpoint update. @default 840 (within a 15-minute step) */
  readonly maxWaitSeconds?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

type Endpoint = DescribeEndpointCommandOutput;

/**
 * The canary workflow's traffic port (lambdas/serving/deploy/workflow.ts) on a SageMaker
 * endpoint with two production variants, `blue` and `green`: a "version" of the port is a
 * production variant, the alias is the endpoint's variant weights.
 *
 * - `getAlias`: the variant with the larger weight is primary, the other's share its weight.
 * - `publishPinned`: packages the registered version for Triton, creates a Model for it and an
 *   endpoint config where the idle variant runs it at weight 0 (the live one keeps weight 1),
 *   and updates the endpoint: SageMaker starts the new container and keeps the old config if
 *   its health check fails.
 * - `invokeVersion` (the readiness gate): ready when the endpoint is in service with the
 *   variant running the model version asked for; otherwise the endpoint's failure reason.
 * - `setAlias`: `UpdateEndpointWeightsAndCapacities` (primary `1 - w`, the other `w`).
 *
 * @example
 * const control = new SageMakerVariantControl(new SageMakerClient({}), 'mlops-prod-serving', { packageVersion, modelName });
 */
export class SageMakerVariantControl implements LambdaControl {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: SageMakerClient,
    private readonly endpointName: string,
    private readonly options: SageMakerControlOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  private describe(): Promise<Endpoint> {
    return this.client.send(new DescribeEndpointCommand({ EndpointName: this.endpointName }));
  }

  /** Polls until the endpoint is no longer being created or updated. */
  private async settled(): Promise<Endpoint> {
    const deadline = this.now() + (this.options.maxWaitSeconds ?? 840) * 1000;
    // Weight changes settle in seconds, instance changes in minutes: poll at 1, 2, 4... s up to pollSeconds.
    let delay = 1000;
    for (;;) {
      const e = await this.describe();
      if (
        e.EndpointStatus !== 'Updating' &&
        e.EndpointStatus !== 'Creating' &&
        e.EndpointStatus !== 'SystemUpdating'
      )
        return e;
      if (this.now() > deadline)
        throw new Error(
          `endpoint ${this.endpointName} is still ${e.EndpointStatus} after ${this.options.maxWaitSeconds ?? 840} s`,
        );
      await this.sleep(delay);
      delay = Math.min(delay * 2, (this.options.pollSeconds ?? 15) * 1000);
    }
  }

  /** Each variant's model (from the endpoint's current config). */
  private async variantModels(e: Endpoint) {
    const config = await this.client.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: e.EndpointConfigName }),
    );
    return {
      config,
      models: new Map((config.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', v.ModelName ?? ''])),
    };
  }

  private async modelOf(e: Endpoint, variant: string) {
    const { models } = await this.variantModels(e);
    const name = models.get(variant);
    if (!name) throw new Error(`endpoint ${this.endpointName} has no production variant '${variant}'`);
    return this.client.send(new DescribeModelCommand({ ModelName: name }));
  }

  async getAlias() {
    const e = await this.describe();
    const variants = (e.ProductionVariants ?? []).map((v) => ({
      name: v.VariantName ?? '',
      weight: v.CurrentWeight ?? v.DesiredWeight ?? 0,
    }));
    const total = variants.reduce((s, v) => s + v.weight, 0) || 1;
    let primary = variants.reduce(
      (a, b) => (b.weight > a.weight ? b : a),
      variants[0] ?? { name: '', weight: 0 },
    );
    const tied = variants.filter((v) => v.weight === primary.weight);
    if (tied.length > 1) {
      // An even split: the variant whose model is older is the one traffic comes from.
      const created = await Promise.all(
        tied.map(async (v) => (await this.modelOf(e, v.name)).CreationTime?.getTime() ?? 0),
      );
      primary = tied[created.indexOf(Math.min(...created))] as typeof primary;
    }
    const weights: Record<string, number> = {};
    for (const v of variants) if (v.name !== primary.name && v.weight > 0) weights[v.name] = v.weight / total;
    return { version: primary.name, weights, revisionId: e.LastModifiedTime?.toISOString() ?? '' };
  }

  async versionEnvironment(variant: string) {
    const model = await this.modelOf(await this.describe(), variant);
    return {
      MODEL_VERSION: model.PrimaryContainer?.Environment?.[MODEL_VERSION_VARIABLE] ?? '',
      SERVING_VARIANT: variant,
    };
  }

  async publishPinned(changes: Record<string, string>, _description: string) {
    const version = changes.MODEL_VERSION;
    const variant = changes.SERVING_VARIANT;
    if (!version || !variant) throw new Error('publishPinned needs MODEL_VERSION and SERVING_VARIANT');
    const e = await this.settled();
    const { config, models } = await this.variantModels(e);
    if (!models.has(variant))
      throw new Error(
        `endpoint ${this.endpointName} has no production variant '${variant}' to run version ${version} on`,
      );
    const live = [...models.keys()].find((v) => v !== variant) ?? variant;
    const template = await this.client.send(new DescribeModelCommand({ ModelName: models.get(live) }));
    const uri = await this.options.packageVersion(this.options.modelName, version);
    const stamp = new Date(this.now()).toISOString().replace(/\D/g, '').slice(0, 14);
    // Names are at most 63 characters: the endpoint's name, the version and a timestamp.
    const base = `${this.endpointName.slice(0, 30)}-v${version.slice(0, 8)}-${stamp}`;
    await this.client.send(
      new CreateModelCommand({
        ModelName: base,
        ExecutionRoleArn: template.ExecutionRoleArn,
        EnableNetworkIsolation: template.EnableNetworkIsolation,
        ...(template.VpcConfig ? { VpcConfig: template.VpcConfig } : {}),
        PrimaryContainer: {
          Image: template.PrimaryContainer?.Image,
          Environment: { ...template.PrimaryContainer?.Environment, [MODEL_VERSION_VARIABLE]: version },
          ModelDataSource: { S3DataSource: { S3Uri: uri, S3DataType: 'S3Prefix', CompressionType: 'None' } },
        },
      }),
    );
    await this.client.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: base,
        ...(config.KmsKeyId ? { KmsKeyId: config.KmsKeyId } : {}),
        ProductionVariants: (config.ProductionVariants ?? []).map((v) => ({
          ...v,
          ...(v.VariantName === variant ? { ModelName: base } : {}),
          // The new version starts with no traffic; the canary's steps move it.
          InitialVariantWeight: v.VariantName === variant ? 0 : 1,
        })),
      }),
    );
    await this.client.send(
      new UpdateEndpointCommand({ EndpointName: this.endpointName, EndpointConfigName: base }),
    );
    await this.settled();
    return variant;
  }

  async setAlias(_alias: string, variant: string, additional?: { version: string; weight: number }) {
    const e = await this.settled();
    const share = (name: string | undefined) => {
      if (name === variant) return additional ? 1 - additional.weight : 1;
      return additional && name === additional.version ? additional.weight : 0;
    };
    const weights = (e.ProductionVariants ?? []).map((v) => ({
      VariantName: v.VariantName,
      DesiredWeight: share(v.VariantName),
    }));
    await this.client.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: this.endpointName,
        DesiredWeightsAndCapacities: weights,
      }),
    );
    // Not waited for: the change settles in seconds, and the next call settles first (an API
    // rollback must answer within API Gateway's 29 s).
  }

  async invokeVersion(variant: string, event: unknown) {
    const wanted = (event as { pathParameters?: { version?: string } }).pathParameters?.version ?? '';
    const e = await this.settled();
    const serving = (await this.versionEnvironment(variant)).MODEL_VERSION;
    const ready = e.EndpointStatus === 'InService' && serving === wanted;
    const message = ready
      ? `variant ${variant} serves version ${wanted}`
      : `endpoint ${this.endpointName} is ${e.EndpointStatus}; variant ${variant} serves version ${serving || 'none'}, not ${wanted}${e.FailureReason ? `: ${e.FailureReason}` : ''}`;
    // The answer the Lambda backend's ready route gives, so the workflow reads both alike.
    return {
      payload: {
        statusCode: ready ? 200 : 503,
        body: JSON.stringify(ready ? { ready: true, version: wanted } : { ready: false, message }),
      },
    };
  }
}
