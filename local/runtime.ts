import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { removeStaleTempFiles } from '../lambdas/platform/fs-object-store';
import { sinkFor } from '../lambdas/serving/domain/prediction-log';
import { LocalAlarms } from './alarms';
import {
  createAuthorizer,
  ensureLocalCredentials,
  functionCallers,
  type LocalCredential,
  readAccessPrincipals,
} from './auth';
import { type RunningCloudWatchApi, startCloudWatchApi } from './cloudwatch-api';
import { consoleSite, ensureConsoleBuilt } from './console';
import { startDynamoDb } from './engines/dynamodb';
import { FunctionHost } from './function-host';
import { startGateway } from './gateway';
import { LocalLambda, type RunningLambdaApi, startLambdaApi } from './lambda-api';
import { LocalLogSubscriptions } from './log-subscriptions';
import { ensureTables, resolveEnvironment } from './resources';
import { type LocalSageMakerService, startLocalSageMaker } from './sagemaker';
import { type RunningSfnApi, startSfnApi } from './sfn-api';
import { LocalStepFunctions } from './stepfunctions';
import { synthTemplate } from './synth';
import { type CfnTemplate, type LocalPlan, readTemplate } from './template';

export interface LocalRuntimeOptions {
  /** Gateway port. @default 4566 (0 picks a free port) */
  readonly port?: number;
  /** Where data persists across restarts. @default '.mlops' */
  readonly dataDir?: string;
  /** Platform configuration (as in cdk.json's `mlops`). @default { stage: 'local' } */
  readonly config?: Record<string, unknown>;
  /** A template to run instead of synthesizing the platform (tests). */
  readonly template?: CfnTemplate;
  /** Keep data in memory only. @default false */
  readonly inMemory?: boolean;
  /** Function log level. @default 'WARN' */
  readonly logLevel?: string;
  readonly onProgress?: (message: string) => void;
  /**
   * Require SigV4-signed requests and authorize them by the access roles' policies in the
   * template, with one local key pair per role in `<dataDir>/credentials.json` (docs/security.md).
   * @default false
   */
  readonly auth?: boolean;
  /**
   * Multiplies alarm periods (and so how long an alarm takes to fire): tests run a 60 s
   * period in 1 s with 1/60. @default 1
   */
  readonly alarmTimeScale?: number;
  /**
   * Serve the web console at `/console` (`mlops up`), building it first when `console/dist`
   * is missing or older than its sources. @default false
   */
  readonly console?: boolean;
}

export interface LocalRuntime {
  readonly url: string;
  readonly dynamodbEndpoint: string;
  readonly dataDir: string;
  readonly plan: LocalPlan;
  readonly host: FunctionHost;
  /** The template's state machines, run with aws-local-stepfunctions. */
  readonly stepFunctions: LocalStepFunctions;
  /** Lambda versions and aliases (served to the SDK at `env.AWS_ENDPOINT_URL_LAMBDA`). */
  readonly lambda: LocalLambda;
  /** The template's CloudWatch alarms, evaluated on the metrics functions emit (EMF). */
  readonly alarms: LocalAlarms;
  /** The template's log subscription filters, delivering function stdout lines as CloudWatch Logs does. */
  readonly logSubscriptions: LocalLogSubscriptions;
  /** SageMaker hosting of the template's endpoints (servingBackend 'sagemaker'), else undefined. */
  readonly sagemaker?: LocalSageMakerService;
  /** Environment that points AWS SDK code at the local engines. */
  readonly env: Record<string, string>;
  /** With `auth`: each access role's local key pair (also in `<dataDir>/credentials.json`). */
  readonly credentials?: readonly LocalCredential[];
  /** With `console`: the web console's URL. */
  readonly consoleUrl?: string;
  stop(): Promise<void>;
}

/**
 * Starts the platform on this machine in one process: dynalite (persistent under the
 * data dir), the filesystem object store, and the API gateway serving every route of
 * the synthesized template with the same handler modules Lambda runs.
 *
 * @example
 * const rt = await startLocalRuntime({ port: 0, dataDir: '.mlops' });
 * await fetch(`${rt.url}/health`);
 * await rt.stop();
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const progress = options.onProgress ?? (() => undefined);
  const dataDir = resolve(options.dataDir ?? '.mlops');
  const config = { stage: 'local', ...options.config };
  progress('synthesizing the platform template');
  const template = options.template ?? synthTemplate(config);
  const plan = readTemplate(template);

  progress('starting DynamoDB (dynalite)');
  mkdirSync(dataDir, { recursive: true });
  const ddb = await startDynamoDb({ path: options.inMemory ? undefined : join(dataDir, 'dynamodb') }).catch(
    (err) => {
      throw new Error(
        `cannot open ${join(dataDir, 'dynamodb')}: ${(err as Error).message}. Is another 'mlops up' using this data dir?`,
      );
    },
  );
  let host: FunctionHost | undefined;
  let lambdaApi: RunningLambdaApi | undefined;
  let sfnApi: RunningSfnApi | undefined;
  let cloudWatchApi: RunningCloudWatchApi | undefined;
  let sagemaker: LocalSageMakerService | undefined;
  // Set once the state machines are read; the SFN API answers 503 until then.
  let stepFunctionsRef: LocalStepFunctions | undefined;
  try {
    const created = await ensureTables(plan, ddb.endpoint);
    if (created.length) progress(`created tables: ${created.join(', ')}`);
    const s3Root = join(dataDir, 's3');
    for (const b of plan.buckets) mkdirSync(join(s3Root, b.localName), { recursive: true });
    // What a killed run left: index entries dynalite wrote before its item, half-written files.
    if (ddb.repairedIndexEntries) progress(`repaired ${ddb.repairedIndexEntries} DynamoDB index entries`);
    const stale = await removeStaleTempFiles(s3Root);
    if (stale) progress(`removed ${stale} temporary file(s) left by a stopped process`);

    // Versions and aliases as Lambda's API keeps them, for the SDK in functions and tests.
    const lambda = new LocalLambda(plan, options.inMemory ? undefined : dataDir);
    lambdaApi = await startLambdaApi(lambda);
    // Step Functions' API, for functions that start executions (the deployment API).
    sfnApi = await startSfnApi(() => stepFunctionsRef, dataDir);
    // SageMaker endpoints of the template (servingBackend 'sagemaker'); their metrics feed the alarms.
    let alarmsRef: LocalAlarms | undefined;
    // CloudWatch's GetMetricData over the metrics the alarms read (the monitoring API's request metrics).
    cloudWatchApi = await startCloudWatchApi(() => alarmsRef);
    sagemaker = await startLocalSageMaker(
      plan,
      {
        s3Root,
        ...(options.inMemory ? {} : { dataDir }),
        metrics: (line) => alarmsRef?.ingest(line),
      },
      () => [
        { accessKeyId: 'local', secretAccessKey: 'local' },
        ...(credentials ?? []),
        ...(callers?.credentials ?? []),
      ],
    );
    const env: Record<string, string> = {
      ...sagemaker?.env,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
      AWS_ENDPOINT_URL_SFN: sfnApi.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatchApi.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      MLOPS_LOCAL_S3_ROOT: s3Root,
      MLOPS_LOCAL_DATA_DIR: dataDir,
    };
    const stage = String(config.stage);
    let apiUrl = '';
    const alarms = new LocalAlarms(plan, {
      dataDir,
      timeScale: options.alarmTimeScale,
      log: progress,
      // Alarm actions that name a function (the severe alarm's rollback) run in the host.
      invokeLambda: (name, qualifier, event) => lambda.invoke(name, qualifier, event),
    });
    alarmsRef = alarms;
    const alarmed = alarms.namespaces;
    const logSubscriptions = new LocalLogSubscriptions(plan, {
      invoke: (functionId, event) => (host as FunctionHost).invoke(functionId, event),
      log: progress,
    });
    // The prediction log's lines are kept where the alarms and local tools read them
    // (<dataDir>/logs/predictions.jsonl), as its log group keeps them on AWS.
    const predictionFile = sinkFor({ MLOPS_LOCAL_DATA_DIR: dataDir });
    host = new FunctionHost(
      plan.functions,
      (fn) => ({
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...resolveEnvironment(fn, plan),
        ...env,
        // The platform API's own URL (a deploy-time token on AWS) is the local gateway here.
        ...('MLOPS_API_URL' in fn.environment ? { MLOPS_API_URL: apiUrl } : {}),
        // With --auth, a function calling the API signs as its own role (set below).
        ...callers?.env.get(fn.logicalId),
        POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'WARN',
        // EMF goes to CloudWatch on AWS; locally only alarms read it (from stdout), else it is off.
        POWERTOOLS_METRICS_DISABLED: alarmed.has(
          resolveEnvironment(fn, plan).POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessMlops',
        )
          ? 'false'
          : 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // Stdout is read here as CloudWatch Logs reads it: the prediction log writes there too.
        MLOPS_LOCAL_STDOUT: 'captured',
      }),
      (line, functionIds) => {
        // Every line reaches the subscriptions, EMF ones included, as on AWS; a published
        // version (`<function>:<n>`) writes to its function's log group.
        logSubscriptions.offer([...new Set(functionIds.map((id) => id.replace(/:[^:]+$/, '')))], line);
        if (line.startsWith('{"mlops_prediction":1')) {
          predictionFile(line);
          return true;
        }
        return alarms.ingest(line);
      },
      logSubscriptions.sources,
    );
    alarms.start();
    // The access roles' policies as synthesized: local and cloud authorize from one source.
    const principals = options.auth ? readAccessPrincipals(template) : [];
    if (options.auth && !principals.length) throw new Error('--auth: the template defines no access roles');
    const credentials = options.auth
      ? ensureLocalCredentials(join(dataDir, 'credentials.json'), principals)
      : undefined;
    const callers = options.auth
      ? functionCallers(
          template,
          [...plan.functions.values()]
            .filter((f) => 'MLOPS_API_URL' in f.environment)
            .map((f) => f.logicalId),
        )
      : undefined;
    const consoleBuild = options.console ? await ensureConsoleBuilt({ onProgress: progress }) : undefined;
    const gateway = await startGateway({
      sites: consoleBuild
        ? [
            consoleSite({
              dist: consoleBuild.dist,
              config: () => ({ apiUrl, auth: options.auth ? 'local-keys' : 'none' }),
            }),
          ]
        : [],
      authorize:
        credentials &&
        createAuthorizer({
          template,
          principals: [...principals, ...(callers?.principals ?? [])],
          credentials: [...credentials, ...(callers?.credentials ?? [])],
          stage,
        }),
      routes: plan.routes,
      host,
      stage,
      port: options.port ?? 4566,
      objectStoreRoot: s3Root,
      target: (route) => lambda.target(route),
    });
    apiUrl = gateway.url;
    // Functions behind routes start now; state machine tasks start on first use, like Lambda.
    lambda.host = host;
    const routed = new Set([
      ...plan.routes.filter((r) => !r.alias).map((r) => r.functionId),
      ...lambda.aliasTargets(),
    ]);
    progress(`starting ${routed.size} API function(s)`);
    await host.warm(routed).catch(async (err) => {
      await gateway.close();
      throw err;
    });
    const stepFunctions = new LocalStepFunctions(plan, host, dataDir, {
      'cloudwatch:describeAlarms': (input) => alarms.describe(input as never),
    });
    stepFunctionsRef = stepFunctions;
    const hostRef = host;
    return {
      url: gateway.url,
      dynamodbEndpoint: ddb.endpoint,
      dataDir,
      plan,
      host,
      stepFunctions,
      lambda,
      alarms,
      logSubscriptions,
      ...(sagemaker ? { sagemaker } : {}),
      env,
      credentials,
      ...(consoleBuild ? { consoleUrl: `${gateway.url}/console/` } : {}),
      async stop() {
        alarms.stop();
        await gateway.close();
        await lambdaApi?.close();
        await sfnApi?.close();
        await cloudWatchApi?.close();
        await sagemaker?.close();
        // What the functions logged last still reaches the subscribers.
        await logSubscriptions.stop();
        await hostRef.stop();
        await ddb.close();
      },
    };
  } catch (err) {
    await host?.stop();
    await lambdaApi?.close();
    await sfnApi?.close();
    await cloudWatchApi?.close();
    await sagemaker?.close();
    await ddb.close();
    throw err;
  }
}
