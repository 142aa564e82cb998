/**
 * Public on-demand prices in US East (N. Virginia), in USD, as AWS publishes them on each
 * service's pricing page (checked 2026-12-04). Free tiers are left out on purpose: an
 * account's free tier is shared with everything else it runs. Other regions cost up to
 * about 20% more; pass a `priceFactor` to the estimate for them.
 */
export const PRICES = {
  lambda: {
    perMillionRequests: 0.2,
    perGbSecondX86: 0.0000166667,
    perGbSecondArm: 0.0000133334,
    /** Provisioned concurrency: per GB-second configured (x86), whether used or not. */
    provisionedPerGbSecond: 0.0000041667,
    /** Duration on provisioned concurrency (x86), instead of perGbSecondX86. */
    provisionedDurationPerGbSecond: 0.0000097222,
  },
  apiGateway: { restPerMillionRequests: 3.5 },
  dynamodb: {
    /** On-demand, since November 2024. */
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    perGbMonth: 0.25,
    pitrPerGbMonth: 0.2,
  },
  s3: { perGbMonth: 0.023, perThousandPuts: 0.005, perThousandGets: 0.0004 },
  stepFunctions: { perThousandTransitions: 0.025 },
  cloudwatch: {
    perMetricAlarm: 0.1,
    perCompositeAlarm: 0.5,
    /** The first three dashboards of an account are free; not counted here. */
    perDashboard: 3,
    perCustomMetric: 0.3,
    logsIngestPerGb: 0.5,
    logsStorePerGbMonth: 0.03,
  },
  kms: { perKeyMonth: 1, perTenThousandRequests: 0.03 },
  /**
   * https://aws.amazon.com/cloudfront/pricing/ (pay as you go, United States, Mexico and
   * Canada; Europe, the other half of price class 100, pays the same per GB and $0.012 per
   * 10,000 HTTPS requests). Origin fetches from S3 and API Gateway are free. Always free
   * tier, not subtracted: 1 TB out and 10,000,000 requests a month.
   */
  cloudfront: {
    perGbOutFirst10Tb: 0.085,
    perTenThousandHttpsRequests: 0.01,
    freeGbOutPerMonth: 1024,
    freeRequestsPerMonth: 10_000_000,
  },
  /**
   * https://aws.amazon.com/cognito/pricing/ (user pool feature plans since November 2024):
   * per monthly active user; Lite and Essentials have 10,000 MAUs a month free (not
   * subtracted), Plus none. Lite's price is its 10,001-100,000 band. Identity pools
   * (federated identities) cost nothing.
   */
  cognito: {
    perMau: { LITE: 0.0055, ESSENTIALS: 0.015, PLUS: 0.02 } as Record<string, number>,
    freeMausPerMonth: { LITE: 10_000, ESSENTIALS: 10_000, PLUS: 0 } as Record<string, number>,
  },
  sns: { perMillionPublishes: 0.5 },
  events: { perMillionCustomEvents: 1 },
  athena: { perTbScanned: 5, minimumMbPerQuery: 10 },
  sagemaker: {
    /** Real-time inference instance hours. */
    perInstanceHour: {
      'ml.t2.medium': 0.056,
      'ml.m5.large': 0.115,
      'ml.m5.xlarge': 0.23,
      'ml.c5.large': 0.102,
      'ml.c5.xlarge': 0.204,
    } as Record<string, number>,
  },
} as const;

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
