/**
 * Typed domain errors. Every layer throws these; the HTTP wrapper and the CLI map them
 * to one error body `{"error_code", "message"}` and a status, so callers branch on type
 * and clients (MLflow's included) read the codes they already know.
 *
 * @example
 * throw new NotFoundError(`Run '${runId}' not found`);
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_STATE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  RESOURCE_CONFLICT: 409,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  /** Serving: the pinned model version did not load; it takes no traffic. */
  MODEL_NOT_READY: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class MlopsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  /** The wire body every API answers errors with. */
  toBody(): { error_code: ErrorCode; message: string } {
    return { error_code: this.code, message: this.message };
  }
}

/** A request field is missing, malformed or out of range (400). */
export class InvalidParameterError extends MlopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_PARAMETER_VALUE', message, options);
  }
}

/** The request as a whole cannot be understood (400). */
export class BadRequestError extends MlopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_REQUEST', message, options);
  }
}

/** The named resource does not exist (404). */
export class NotFoundError extends MlopsError {
  constructor(message: string) {
    super('RESOURCE_DOES_NOT_EXIST', message);
  }
}

/** A resource with that identity exists already (400, as MLflow answers). */
export class AlreadyExistsError extends MlopsError {
  constructor(message: string) {
    super('RESOURCE_ALREADY_EXISTS', message);
  }
}

/** The resource is in a state that forbids the operation (400), e.g. logging to a deleted run. */
export class InvalidStateError extends MlopsError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/** A concurrent writer won; the caller may retry (409). */
export class ConflictError extends MlopsError {
  constructor(message: string) {
    super('RESOURCE_CONFLICT', message);
  }
}

/** A dependency (DynamoDB, S3, ...) stayed throttled or failing after the SDK's retries; retry later (503). */
export class TemporarilyUnavailableError extends MlopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TEMPORARILY_UNAVAILABLE', message, options);
  }
}

// The SDK's own throttling codes (@smithy/core retry: THROTTLING_ERROR_CODES), matched by
// name so this module needs no AWS import.
const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/**
 * An AWS SDK error the SDK retried until it gave up: throttling, a 5xx from the service,
 * or a dropped connection. Such a failure says nothing about the request, so the caller
 * gets a 503 and may retry, rather than a 500.
 *
 * @example
 * if (transientAwsError(err)) throw new TemporarilyUnavailableError('retry later', { cause: err });
 */
export function transientAwsError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    THROTTLING.has(e.name ?? '') ||
    e.$metadata?.httpStatusCode === 429 ||
    TRANSIENT_STATUS.has(e.$metadata?.httpStatusCode ?? 0) ||
    e.name === 'TimeoutError' ||
    TRANSIENT_NETWORK.has(e.code ?? '')
  );
}

/**
 * Normalizes anything thrown into an MlopsError: a transient AWS failure becomes a 503
 * TEMPORARILY_UNAVAILABLE; other unknown errors a 500 that hides internals.
 */
export function toMlopsError(err: unknown): MlopsError {
  if (err instanceof MlopsError) return err;
  if (transientAwsError(err)) {
    const e = err as { name?: string; $metadata?: { attempts?: number } };
    const attempts = e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempts` : '';
    return new TemporarilyUnavailableError(
      `An AWS service this API depends on is throttling or temporarily unavailable (${e.name}${attempts}); retry the request after a short wait`,
      { cause: err },
    );
  }
  return new MlopsError('INTERNAL_ERROR', 'Internal error; see the function logs for the request id', {
    cause: err,
  });
}
