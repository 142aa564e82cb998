import { HOURS_PER_MONTH, PRICES, SECONDS_PER_MONTH } from './prices';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read field by field
type Props = Record<string, any>;

/** A synthesized CloudFormation template: only `Resources` is read. */
export interface TemplateLike {
  readonly Resources: Readonly<Record<string, { Type: string; Properties?: Props }>>;
}

/** The usage a month's estimate assumes beyond what the template fixes. */
export interface UsageProfile {
  /** Prediction requests per day through the API. @default 0 (idle) */
  readonly predictionsPerDay: number;
  /** Billed duration of one prediction on the predict function (warm). @default 10 ms */
  readonly predictMs: number;
  /** Prediction-log bytes per request in CloudWatch Logs (one JSON line, 20 features). @default 1200 */
  readonly logBytesPerPrediction: number;
  /** Online-store reads per prediction (entity-key requests read one item per key). @default 1 */
  readonly onlineReadsPerPrediction: number;
  /** Predictions per log batch the log consumers receive. @default 100 */
  readonly predictionsPerLogBatch: number;
  /** Custom metrics (EMF) a month sees: serving's per version and variant, monitoring's per feature. @default 0 idle, 60 with traffic */
  readonly customMetrics?: number;
  /** Pipeline runs besides the scheduled ones (retraining on drift, manual). @default 0 */
  readonly extraPipelineRuns: number;
  /** Lambda GB-seconds one pipeline run uses (validation, training set, trials, candidate). @default 3000 */
  readonly pipelineGbSecondsPerRun: number;
  /** State transitions of one pipeline run (states plus map iterations). @default 80 */
  readonly pipelineTransitionsPerRun: number;
  /** Billed seconds of one run of a scheduled function (drift, performance jobs). @default 20 */
  readonly scheduledJobSeconds: number;
  /** Data kept in the buckets (offline store, artifacts, prediction log). @default 1 GB */
  readonly storedGb: number;
  /** Multiplies every price (other regions than US East cost up to about 20% more). @default 1 */
  readonly priceFactor: number;
  /** Monthly active users of the web console (each signs in to the user pool). @default 0 */
  readonly consoleUsers: number;
  /** Requests for the console's own files per user a month: index.html and config.json per visit (hashed assets stay in the browser's cache). @default 600 */
  readonly consoleFileRequestsPerUser: number;
  /** API calls through the console's distribution per user a month (a page reads one to five routes). @default 1500 */
  readonly consoleApiCallsPerUser: number;
  /** Average bytes of one answer through the distribution (API answers are uncached, so not compressed at the edge). @default 20000 */
  readonly consoleBytesPerRequest: number;
  /** Billed duration of the API function behind one console call, at 1 GB. @default 100 ms */
  readonly consoleApiMs: number;
}

export const IDLE: UsageProfile = {
  predictionsPerDay: 0,
  predictMs: 10,
  logBytesPerPrediction: 1200,
  onlineReadsPerPrediction: 1,
  predictionsPerLogBatch: 100,
  extraPipelineRuns: 0,
  pipelineGbSecondsPerRun: 3000,
  pipelineTransitionsPerRun: 80,
  scheduledJobSeconds: 20,
  storedGb: 1,
  priceFactor: 1,
  consoleUsers: 0,
  consoleFileRequestsPerUser: 600,
  consoleApiCallsPerUser: 1500,
  consoleBytesPerRequest: 20_000,
  consoleApiMs: 100,
};

/** One line of the estimate. `fixed` lines are paid whether or not anything runs. */
export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  readonly fixed: boolean;
  /** What the price leaves out, such as a free tier that would cover the line. */
  readonly note?: string;
}

export interface CostEstimate {
  readonly lines: readonly CostLine[];
  readonly fixedUsd: number;
  readonly usageUsd: number;
  readonly totalUsd: number;
  /** What the template holds that the estimate read, for the method shown beside it. */
  readonly counted: Readonly<Record<string, number>>;
}

const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

/**
 * Runs per month of an EventBridge schedule: `rate(n unit)`, or `cron(min hour dom month dow
 * year)` counting the listed minutes, hours and days (a `*` day of month is 30.4 days, listed
 * days of week 4.35 each). Undefined for expressions it cannot read.
 *
 * @example
 * runsPerMonth('rate(1 hour)'); // 730
 */
export function runsPerMonth(expression: string): number | undefined {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const n = Number(rate[1]);
    const unitHours = rate[2]!.startsWith('minute') ? 1 / 60 : rate[2]!.startsWith('hour') ? 1 : 24;
    return HOURS_PER_MONTH / (n * unitHours);
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (!cron) return undefined;
  const f = cron[1]!.trim().split(/\s+/);
  if (f.length !== 6) return undefined;
  // Numbers, or day and month names (EventBridge: SUN-SAT are 1-7, JAN-DEC 1-12).
  const names = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
  const position = (v: string): number | undefined => {
    if (/^\d+$/.test(v)) return Number(v);
    const d = names.indexOf(v.toUpperCase());
    if (d >= 0) return d + 1;
    const m = months.indexOf(v.toUpperCase());
    return m >= 0 ? m + 1 : undefined;
  };
  const count = (field: string, range: number): number | undefined => {
    if (field === '*' || field === '?') return range;
    if (/^\*\/\d+$/.test(field) || /^\d+\/\d+$/.test(field)) {
      const [from, step] = field.split('/');
      const start = from === '*' ? 0 : Number(from);
      return Math.ceil((range - start) / Number(step));
    }
    let total = 0;
    for (const part of field.split(',')) {
      const span = /^(\w+)-(\w+)$/.exec(part);
      if (span) {
        const [a, b] = [position(span[1]!), position(span[2]!)];
        if (a === undefined || b === undefined) return undefined;
        total += b - a + 1;
      } else total += 1;
    }
    return total;
  };
  const [min, hour, dom, month, dow] = f as [string, string, string, string, string];
  const perDay = (count(min, 60) ?? NaN) * (count(hour, 24) ?? NaN);
  let days: number;
  if (dom === '?' && dow !== '?' && dow !== '*') days = (count(dow, 7) ?? NaN) * (DAYS_PER_MONTH / 7);
  else if (dom === '*' || dom === '?') days = DAYS_PER_MONTH;
  else days = count(dom, 31) ?? NaN;
  const share = month === '*' ? 1 : (count(month, 12) ?? NaN) / 12;
  const runs = perDay * days * share;
  return Number.isFinite(runs) ? runs : undefined;
}

const fmtCount = (n: number) => n.toLocaleString('en-US');

/** The logical id a `Ref` or `Fn::GetAtt` names, if the value is one. */
function refId(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Props;
  if (typeof o.Ref === 'string') return o.Ref;
  if (Array.isArray(o['Fn::GetAtt'])) return String(o['Fn::GetAtt'][0]);
  return undefined;
}

/**
 * A month's cost of a synthesized platform under a usage profile: the fixed part the template
 * itself implies (KMS keys, alarms, dashboards, provisioned concurrency, SageMaker instances,
 * scheduled jobs and pipeline runs) and the usage part the profile adds (API requests, Lambda
 * time, logs, DynamoDB reads, metrics, the console's CloudFront requests and Cognito users). Every line names its quantity and unit, so the method
 * is visible; prices are PRICES (US East, no free tier).
 *
 * @example
 * const idle = estimateMonthlyCost(template, IDLE);
 * const low = estimateMonthlyCost(template, { ...IDLE, predictionsPerDay: 10_000 });
 */
export function estimateMonthlyCost(template: TemplateLike, profile: UsageProfile = IDLE): CostEstimate {
  const lines: CostLine[] = [];
  const k = profile.priceFactor;
  const add = (
    service: string,
    item: string,
    quantity: number,
    unit: string,
    usd: number,
    fixed: boolean,
    note?: string,
  ) => {
    if (quantity > 0)
      lines.push({ service, item, quantity, unit, usd: usd * k, fixed, ...(note ? { note } : {}) });
  };
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const fns = new Map(
    ofType('AWS::Lambda::Function').map(([id, r]) => [
      id,
      {
        memoryGb: Number(r.Properties?.MemorySize ?? 128) / 1024,
        arm: JSON.stringify(r.Properties?.Architectures ?? []).includes('arm64'),
      },
    ]),
  );
  const gbSecondPrice = (id: string | undefined) =>
    id && fns.get(id)?.arm ? PRICES.lambda.perGbSecondArm : PRICES.lambda.perGbSecondX86;

  // KMS keys: one per encrypted bucket, table, topic or log group that asks for its own.
  const keys = ofType('AWS::KMS::Key').length;
  add('KMS', 'customer managed keys', keys, 'key-months', keys * PRICES.kms.perKeyMonth, true);

  // CloudWatch alarms (a metric-math alarm pays per metric it reads), composites, dashboards.
  let alarmMetrics = 0;
  for (const [, r] of ofType('AWS::CloudWatch::Alarm')) {
    const metrics = r.Properties?.Metrics as Props[] | undefined;
    alarmMetrics += metrics ? Math.max(1, metrics.filter((m) => m.MetricStat).length) : 1;
  }
  add(
    'CloudWatch',
    'metric alarms',
    alarmMetrics,
    'alarm-metrics',
    alarmMetrics * PRICES.cloudwatch.perMetricAlarm,
    true,
  );
  const composites = ofType('AWS::CloudWatch::CompositeAlarm').length;
  add(
    'CloudWatch',
    'composite alarms',
    composites,
    'alarms',
    composites * PRICES.cloudwatch.perCompositeAlarm,
    true,
  );
  const dashboards = ofType('AWS::CloudWatch::Dashboard').length;
  add(
    'CloudWatch',
    'dashboards',
    dashboards,
    'dashboards',
    dashboards * PRICES.cloudwatch.perDashboard,
    true,
  );

  // Provisioned concurrency, paid every second it is configured.
  for (const [, r] of ofType('AWS::Lambda::Alias')) {
    const pc = Number(r.Properties?.ProvisionedConcurrencyConfig?.ProvisionedConcurrentExecutions ?? 0);
    const fn = fns.get(refId(r.Properties?.FunctionName) ?? '');
    if (pc > 0 && fn) {
      const gbSeconds = pc * fn.memoryGb * SECONDS_PER_MONTH;
      add(
        'Lambda',
        `provisioned concurrency (${r.Properties?.Name})`,
        gbSeconds,
        'GB-s',
        gbSeconds * PRICES.lambda.provisionedPerGbSecond,
        true,
      );
    }
  }

  // SageMaker real-time endpoints: instance hours of every production variant.
  const endpointConfigs = new Set(
    ofType('AWS::SageMaker::Endpoint').map(([, r]) => refId(r.Properties?.EndpointConfigName)),
  );
  for (const [id, r] of ofType('AWS::SageMaker::EndpointConfig')) {
    if (!endpointConfigs.has(id)) continue;
    for (const v of (r.Properties?.ProductionVariants ?? []) as Props[]) {
      if (!v.InstanceType) continue;
      const hours = Number(v.InitialInstanceCount ?? 1) * HOURS_PER_MONTH;
      const price = PRICES.sagemaker.perInstanceHour[String(v.InstanceType)] ?? 0.115;
      add(
        'SageMaker',
        `endpoint ${v.InstanceType} (${v.VariantName})`,
        hours,
        'instance-hours',
        hours * price,
        true,
      );
    }
  }

  // Schedules: the functions and state machines they start, every month whatever the traffic.
  // The training pipeline (logical id `...TrainingPipeline...`) costs what the profile says a
  // run costs; a lighter machine (materialization, drift job) a transition per state and
  // `scheduledJobSeconds` of each function its definition calls.
  const machines = new Map(
    ofType('AWS::StepFunctions::StateMachine').map(([id, r]) => {
      const definition = JSON.stringify(r.Properties?.DefinitionString ?? r.Properties?.Definition ?? '');
      const states = Math.max(1, (definition.match(/\\?"Type\\?":/g) ?? []).length);
      const called = [...fns.keys()].filter((fnId) => definition.includes(`"${fnId}"`));
      return [id, { states, called }] as const;
    }),
  );
  let scheduledPipelineRuns = 0;
  for (const [, r] of ofType('AWS::Events::Rule')) {
    const expr = r.Properties?.ScheduleExpression;
    if (typeof expr !== 'string' || r.Properties?.State === 'DISABLED') continue;
    const runs = runsPerMonth(expr) ?? 0;
    for (const t of (r.Properties?.Targets ?? []) as Props[]) {
      const id = refId(t.Arn);
      const machine = id ? machines.get(id) : undefined;
      if (id && machine && id.includes('TrainingPipeline')) scheduledPipelineRuns += runs;
      else if (id && machine) {
        const transitions = runs * machine.states;
        add(
          'Step Functions',
          `scheduled ${id} (${expr})`,
          transitions,
          'transitions',
          (transitions * PRICES.stepFunctions.perThousandTransitions) / 1000,
          true,
        );
        for (const fnId of machine.called) {
          const gbSeconds = runs * profile.scheduledJobSeconds * fns.get(fnId)!.memoryGb;
          add(
            'Lambda',
            `${fnId}, run by ${id}`,
            runs,
            'invocations',
            (runs * PRICES.lambda.perMillionRequests) / 1e6 + gbSeconds * gbSecondPrice(fnId),
            true,
          );
        }
      } else if (id && fns.has(id)) {
        const gbSeconds = runs * profile.scheduledJobSeconds * fns.get(id)!.memoryGb;
        add(
          'Lambda',
          `scheduled ${id} (${expr})`,
          runs,
          'invocations',
          (runs * PRICES.lambda.perMillionRequests) / 1e6 + gbSeconds * gbSecondPrice(id),
          true,
        );
      }
    }
  }
  const pipelineRuns = scheduledPipelineRuns + profile.extraPipelineRuns;
  if (pipelineRuns > 0) {
    add(
      'Step Functions',
      'training pipeline state transitions',
      pipelineRuns * profile.pipelineTransitionsPerRun,
      'transitions',
      (pipelineRuns * profile.pipelineTransitionsPerRun * PRICES.stepFunctions.perThousandTransitions) / 1000,
      scheduledPipelineRuns > 0,
    );
    add(
      'Lambda',
      'training pipeline steps',
      pipelineRuns * profile.pipelineGbSecondsPerRun,
      'GB-s',
      pipelineRuns * profile.pipelineGbSecondsPerRun * PRICES.lambda.perGbSecondX86,
      scheduledPipelineRuns > 0,
    );
  }

  // Storage.
  const buckets = ofType('AWS::S3::Bucket').length;
  add(
    'S3',
    `storage in ${buckets} buckets`,
    profile.storedGb,
    'GB-months',
    profile.storedGb * PRICES.s3.perGbMonth,
    true,
  );

  // Traffic.
  const predictions = profile.predictionsPerDay * DAYS_PER_MONTH;
  if (predictions > 0) {
    const live = ofType('AWS::Lambda::Alias').find(([, r]) => r.Properties?.Name === 'live');
    const predictFn = live ? refId(live[1].Properties?.FunctionName) : undefined;
    const memoryGb = (predictFn && fns.get(predictFn)?.memoryGb) || 1.728;
    add(
      'API Gateway',
      'REST API requests',
      predictions,
      'requests',
      (predictions * PRICES.apiGateway.restPerMillionRequests) / 1e6,
      false,
    );
    const gbSeconds = (predictions * profile.predictMs * memoryGb) / 1000;
    add(
      'Lambda',
      'predict invocations',
      predictions,
      'requests',
      (predictions * PRICES.lambda.perMillionRequests) / 1e6 + gbSeconds * gbSecondPrice(predictFn),
      false,
    );
    const logGb = (predictions * profile.logBytesPerPrediction) / 1e9;
    add(
      'CloudWatch',
      'prediction log ingestion',
      logGb,
      'GB',
      logGb * (PRICES.cloudwatch.logsIngestPerGb + PRICES.cloudwatch.logsStorePerGbMonth),
      false,
    );
    const batches = predictions / profile.predictionsPerLogBatch;
    const consumers = ofType('AWS::Logs::SubscriptionFilter').length;
    if (consumers > 0) {
      // Each consumer of the log runs once per batch (about 200 ms at its memory) and the
      // shipper writes one object per batch.
      add(
        'Lambda',
        `${consumers} prediction-log consumers`,
        batches * consumers,
        'invocations',
        (batches * consumers * PRICES.lambda.perMillionRequests) / 1e6 +
          batches * consumers * 0.2 * 1 * PRICES.lambda.perGbSecondX86,
        false,
      );
      add(
        'S3',
        'prediction log objects',
        batches,
        'PUTs',
        (batches * PRICES.s3.perThousandPuts) / 1000,
        false,
      );
    }
    const reads = predictions * profile.onlineReadsPerPrediction;
    add(
      'DynamoDB',
      'online feature reads',
      reads,
      'read units',
      (reads * PRICES.dynamodb.perMillionReadUnits) / 1e6,
      false,
    );
  }

  // The web console (lib/console): CloudFront and Cognito bill per use only, so an idle
  // console costs nothing beyond its bucket's storage, counted above.
  const distributions = ofType('AWS::CloudFront::Distribution').length;
  const userPools = ofType('AWS::Cognito::UserPool');
  const users = profile.consoleUsers;
  if (users > 0 && distributions > 0) {
    const apiCalls = users * profile.consoleApiCallsPerUser;
    const requests = users * profile.consoleFileRequestsPerUser + apiCalls;
    const gbOut = (requests * profile.consoleBytesPerRequest) / 1e9;
    const free = (n: number, what: string) =>
      `always free tier: ${fmtCount(n)} ${what} a month, not subtracted`;
    add(
      'CloudFront',
      'console HTTPS requests',
      requests,
      'requests',
      (requests * PRICES.cloudfront.perTenThousandHttpsRequests) / 10_000,
      false,
      free(PRICES.cloudfront.freeRequestsPerMonth, 'requests'),
    );
    add(
      'CloudFront',
      'console data transfer out',
      gbOut,
      'GB',
      gbOut * PRICES.cloudfront.perGbOutFirst10Tb,
      false,
      free(PRICES.cloudfront.freeGbOutPerMonth, 'GB'),
    );
    // The distribution forwards the API's paths: each call is also an API request and a
    // function invocation.
    add(
      'API Gateway',
      'REST API requests from the console',
      apiCalls,
      'requests',
      (apiCalls * PRICES.apiGateway.restPerMillionRequests) / 1e6,
      false,
    );
    const gbSeconds = (apiCalls * profile.consoleApiMs) / 1000;
    add(
      'Lambda',
      'API invocations from the console',
      apiCalls,
      'requests',
      (apiCalls * PRICES.lambda.perMillionRequests) / 1e6 + gbSeconds * PRICES.lambda.perGbSecondX86,
      false,
    );
  }
  if (users > 0) {
    for (const [id, r] of userPools) {
      // CloudFormation's UserPoolTier (CDK's featurePlan); new pools are Essentials.
      const tier = String(r.Properties?.UserPoolTier ?? 'ESSENTIALS').toUpperCase();
      const perMau = PRICES.cognito.perMau[tier] ?? PRICES.cognito.perMau.ESSENTIALS!;
      const freeMaus = PRICES.cognito.freeMausPerMonth[tier] ?? 0;
      add(
        'Cognito',
        `user pool ${id} (${tier.toLowerCase()}) monthly active users`,
        users,
        'MAUs',
        users * perMau,
        false,
        freeMaus ? `the first ${fmtCount(freeMaus)} MAUs a month are free, not subtracted` : undefined,
      );
    }
    const identityPools = ofType('AWS::Cognito::IdentityPool').length;
    // Listed so the estimate shows it was counted: identity pools have no charge.
    if (identityPools > 0) add('Cognito', 'identity pool credentials', users, 'users', 0, false, 'no charge');
  }

  const metrics = profile.customMetrics ?? (predictions > 0 ? 60 : 0);
  add(
    'CloudWatch',
    'custom metrics (EMF)',
    metrics,
    'metric-months',
    metrics * PRICES.cloudwatch.perCustomMetric,
    false,
  );

  const fixedUsd = lines.filter((l) => l.fixed).reduce((s, l) => s + l.usd, 0);
  const usageUsd = lines.filter((l) => !l.fixed).reduce((s, l) => s + l.usd, 0);
  return {
    lines,
    fixedUsd,
    usageUsd,
    totalUsd: fixedUsd + usageUsd,
    counted: {
      functions: fns.size,
      kmsKeys: keys,
      alarmMetrics,
      compositeAlarms: composites,
      dashboards,
      buckets,
      tables: ofType('AWS::DynamoDB::Table').length + ofType('AWS::DynamoDB::GlobalTable').length,
      stateMachines: machines.size,
      distributions,
      userPools: userPools.length,
      scheduledPipelineRunsPerMonth: Math.round(scheduledPipelineRuns * 100) / 100,
    },
  };
}
