import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { platformRoutes } from '../lambdas/platform/health-api';
import { AccessRoles } from './api/access-roles';
import { PlatformApi } from './api/platform-api';
import type { PlatformConfig } from './config';
import { ConsoleHosting } from './console/console';
import { Experiments } from './experiments/experiments';
import { ShadowMode } from './experiments/shadow';
import { FeatureStore } from './features/feature-store';
import { DriftMonitoring } from './monitoring/monitoring';
import { PerformanceMonitoring } from './monitoring/performance';
import { TrainingPipeline } from './pipeline/training-pipeline';
import { PlatformAlerts } from './platform/alerts';
import { NativeModulesLayer } from './private/native-layer';
import { PlatformFunction } from './private/platform-function';
import { SecureBucket } from './private/secure-bucket';
import { BatchScoring } from './serving/batch-scoring';
import { Serving } from './serving/serving';
import { Tracking } from './tracking/tracking';

export interface MlopsPlatformProps {
  readonly config: PlatformConfig;
}

/**
 * The root construct: the shared API and logging, and one construct per area
 * (features, tracking, pipeline, serving, monitoring), each adding its own resources
 * and routes to the shared API.
 */
export class MlopsPlatform extends Construct {
  readonly api: PlatformApi;
  /** Receives the server access logs of every platform bucket. */
  readonly accessLogs: SecureBucket;
  readonly config: PlatformConfig;
  /** The alert topic: every alarm's and the pipeline's failure notices. */
  readonly alerts: PlatformAlerts;
  readonly features: FeatureStore;
  /** Experiment tracking and model registry (MLflow REST API). */
  readonly tracking: Tracking;
  /** DuckDB and ONNX Runtime native bindings for the functions that need them. */
  readonly nativeLayer: NativeModulesLayer;
  readonly pipeline: TrainingPipeline;
  /** The predict function behind the API (its `live` alias). */
  readonly serving: Serving;
  /** A/B tests: experiments, exposures, outcomes and analysis. */
  readonly experiments: Experiments;
  /** Shadow mode: a version scoring a copy of live requests, never answering (docs/experiments.md). */
  readonly shadow: ShadowMode;
  /** The prediction log in S3, the scheduled drift job, its alarms and dashboard. */
  readonly monitoring: DriftMonitoring;
  /** Delayed labels, performance per version and the severe alarm that rolls back. */
  readonly performance: PerformanceMonitoring;
  /** Batch scoring: a Distributed Map over shards of a file in S3 (`POST /v1/batch-scoring`). */
  readonly batchScoring: BatchScoring;
  /** The data scientist, deployer and serving roles, derived from every route above. */
  readonly access: AccessRoles;
  /** The web console on AWS (CloudFront, Cognito sign-in), when `console.enabled`. */
  readonly console?: ConsoleHosting;

  constructor(scope: Construct, id: string, props: MlopsPlatformProps) {
    super(scope, id);
    const { config } = props;
    this.config = config;
    const logRetentionDays = retention(config.logRetentionDays);
    this.alerts = new PlatformAlerts(this, 'Alerts', { stage: config.stage, email: config.alerts.email });
    this.accessLogs = new SecureBucket(this, 'AccessLogs', {
      localName: 'access-logs',
      retain: config.retainData,
      versioned: false,
    });
    this.api = new PlatformApi(this, 'Api', {
      stage: config.stage,
      logRetentionDays,
      rateLimit: config.apiThrottle.rateLimit,
      burstLimit: config.apiThrottle.burstLimit,
    });
    const health = new PlatformFunction(this, 'Health', {
      entry: 'lambdas/platform/health-handler.ts',
      serviceName: 'platform',
      stage: config.stage,
      logRetentionDays,
      memorySize: 256,
    });
    this.api.addRoutes(health.fn, platformRoutes);

    this.nativeLayer = new NativeModulesLayer(this, 'NativeModules');
    this.features = new FeatureStore(this, 'Features', {
      stage: config.stage,
      accessLogs: this.accessLogs.bucket,
      retain: config.retainData,
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      nativeLayer: this.nativeLayer.layer,
      ephemeralStorageMiB: config.ephemeralStorageMiB,
    });
    this.tracking = new Tracking(this, 'Tracking', { platform: this, nativeLayer: this.nativeLayer.layer });
    this.pipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      api: this.api,
      featuresBucket: this.features.bucket,
      offlineStore: this.features.offline,
      config,
      functionDefaults: this.functionDefaults('pipeline'),
      nativeLayer: this.nativeLayer.layer,
      failureTopic: this.alerts.topic,
    });
    // The topic is KMS-encrypted: publishing needs the key as well as sns:Publish.
    this.alerts.grantPublish(this.pipeline.stateMachine);
    this.serving = new Serving(this, 'Serving', {
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      nativeLayer: this.nativeLayer.layer,
      trackingTable: this.tracking.table,
      artifacts: this.tracking.artifacts,
      featuresBucket: this.features.bucket,
      onlineTable: this.features.online?.table,
      modelName: config.serving.modelName ?? config.pipeline.modelName,
      modelAlias: config.serving.modelAlias,
      featureService: config.pipeline.featureService,
      provisionedConcurrency: config.serving.provisionedConcurrency,
      autoDeploy: config.serving.autoDeploy,
      deployment: {
        errorRate: config.alarms.errorRate,
        latencyP99Ms: config.alarms.latencyP99Ms,
        predictionShift: config.alarms.predictionShift,
      },
      ...(config.servingBackend === 'sagemaker'
        ? {
            sagemaker: {
              endpointName: `mlops-${config.stage}-serving`,
              initialVersion: config.serving.sagemaker.initialVersion,
              instanceType: config.serving.sagemaker.instanceType,
              instanceCount: config.serving.sagemaker.instanceCount,
              retainKey: config.retainData,
              ...(config.serving.sagemaker.image ? { image: config.serving.sagemaker.image } : {}),
            },
          }
        : {}),
    });
    this.experiments = new Experiments(this, 'Experiments', {
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      trackingTable: this.tracking.table,
      retain: config.retainData,
    });
    this.experiments.enableAssignment(this.serving.fn.fn);
    this.monitoring = new DriftMonitoring(this, 'Monitoring', {
      stage: config.stage,
      functionDefaults: (name: string) => this.functionDefaults(name),
      predictFunction: this.serving.fn.fn,
      modelName: config.serving.modelName ?? config.pipeline.modelName,
      trackingTable: this.tracking.table,
      artifacts: this.tracking.artifacts,
      accessLogs: this.accessLogs.bucket,
      schedule: config.monitoring.schedule,
      windowHours: config.monitoring.windowHours,
      drift: config.monitoring.drift,
      driftPsi: config.alarms.driftPsi,
      retentionDays: config.monitoring.retentionDays,
      aggregateRows: config.monitoring.aggregateRows,
      nativeLayer: this.nativeLayer.layer,
      retain: config.retainData,
    });
    // The log shipper's sinks: experiment exposures (and, below, the prediction index).
    this.monitoring.shipper.addEnvironment('EXPERIMENTS_TABLE', this.experiments.table.tableName);
    this.experiments.grantRecordExposures(this.monitoring.shipper);
    // The predict log group's second subscriber (the log shipper is the first).
    this.shadow = new ShadowMode(this, 'Shadow', {
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      nativeLayer: this.nativeLayer.layer,
      predictFunction: this.serving.fn.fn,
      trackingTable: this.tracking.table,
      artifacts: this.tracking.artifacts,
      bucket: this.monitoring.bucket,
    });
    this.performance = new PerformanceMonitoring(this, 'Performance', {
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      modelName: config.serving.modelName ?? config.pipeline.modelName,
      trackingTable: this.tracking.table,
      artifacts: this.tracking.artifacts,
      bucket: this.monitoring.bucket,
      servingFunction: this.serving.fn.fn,
      servingAlias: this.serving.liveAlias,
      deployment: this.serving.deployment,
      errorAlarms: [...this.serving.deployment.alarms.blue, ...this.serving.deployment.alarms.green].filter(
        (a) => a.metric instanceof cloudwatch.Metric && a.metric.metricName === 'PredictErrors',
      ),
      ...config.performance,
      performanceDrop: config.alarms.performanceDrop,
      driftAlarm: this.monitoring.driftAlarm,
      retain: config.retainData,
    });
    this.performance.addIndexWriter(this.monitoring.shipper);
    this.performance.addOutcomeSource(this.experiments.table);
    this.batchScoring = new BatchScoring(this, 'BatchScoring', {
      api: this.api,
      functionDefaults: (name: string) => this.functionDefaults(name),
      nativeLayer: this.nativeLayer.layer,
      trackingTable: this.tracking.table,
      artifacts: this.tracking.artifacts,
      featuresBucket: this.features.bucket,
      maxConcurrency: config.batchScoring.maxConcurrency,
      memorySize: config.batchScoring.memorySize,
      ephemeralStorageMiB: config.ephemeralStorageMiB,
    });
    // Last: each role's policy lists the routes every area has added.
    this.access = new AccessRoles(this, 'Access', {
      api: this.api,
      stage: config.stage,
      trustedPrincipalArns: config.access.trustedPrincipalArns,
    });
    // After every route too: its identity role lists the read routes.
    if (config.console.enabled) {
      this.console = new ConsoleHosting(this, 'Console', {
        api: this.api,
        stage: config.stage,
        accessLogs: this.accessLogs.bucket,
        retainUsers: config.retainData,
      });
    }
  }

  /** Common props for an area's functions. */
  functionDefaults(serviceName: string) {
    return {
      serviceName,
      stage: this.config.stage,
      logRetentionDays: retention(this.config.logRetentionDays),
    };
  }
}

function retention(days: PlatformConfig['logRetentionDays']): logs.RetentionDays {
  const map: Record<PlatformConfig['logRetentionDays'], logs.RetentionDays> = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
  };
  return map[days];
}
