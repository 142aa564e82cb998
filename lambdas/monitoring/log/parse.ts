import type { LoggedPrediction } from './record';

/** Fields of a prediction log line that LoggedPrediction carries by name; the rest go to `extra`. */
const KNOWN = new Set([
  'mlops_prediction',
  '_aws',
  'timestamp',
  'request_id',
  'model',
  'version',
  'variant',
  'api',
  'status',
  'rows',
  'part',
  'parts',
  'latency_ms',
  'inputs',
  'entities',
  'predictions',
  'error_code',
  // EMF values, already in the fields above.
  'PredictLatency',
  'PredictErrors',
  'PredictRows',
  'PredictRejected',
  'Prediction',
  // The HTTP request line, written inside the prediction line (lambdas/platform/http/middleware.ts).
  'service',
  'requestId',
  'method',
  'resource',
  'latencyMs',
  'Requests',
  'Latency',
  'Errors4xx',
  'Errors5xx',
]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function columns(v: unknown): Record<string, unknown[]> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, unknown[]> = {};
  for (const [k, col] of Object.entries(v)) {
    if (!Array.isArray(col)) return undefined;
    out[k] = col;
  }
  return out;
}

/** The line's JSON object, unwrapping Lambda's JSON log format (`{"message": ...}`) when present. */
function lineObject(text: string): Json | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (parsed.mlops_prediction === 1) return parsed;
  const message = parsed.message;
  if (isObject(message) && message.mlops_prediction === 1) return message;
  if (typeof message === 'string') return lineObject(message);
  return undefined;
}

/**
 * One prediction log line (lambdas/serving/domain/prediction-log.ts) as a LoggedPrediction, or
 * why it is not one: not JSON, not marked `mlops_prediction: 1`, or missing a field a consumer
 * relies on. Lines in Lambda's JSON log format (the line under `message`) are unwrapped.
 *
 * @example
 * const r = parsePredictionLine('{"mlops_prediction":1,"request_id":"r1",...}');
 * if (r.ok) r.record.predictions;
 */
export function parsePredictionLine(
  text: string,
): { ok: true; record: LoggedPrediction } | { ok: false; reason: string } {
  const o = lineObject(text);
  if (!o) return { ok: false, reason: 'not a prediction log line (JSON with "mlops_prediction": 1)' };
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const num = (k: string) =>
    typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : undefined;
  const requestId = str('request_id');
  const model = str('model');
  const version = str('version');
  const status = num('status');
  const timestamp = str('timestamp') ? Date.parse(str('timestamp')!) : Number.NaN;
  if (!requestId || !model || !version || status === undefined || Number.isNaN(timestamp)) {
    return {
      ok: false,
      reason: 'a prediction log line needs request_id, model, version, status and an ISO timestamp',
    };
  }
  const inputs = o.inputs === undefined ? {} : columns(o.inputs);
  const entities = o.entities === undefined ? undefined : columns(o.entities);
  const predictions = o.predictions === undefined ? [] : o.predictions;
  if (
    !inputs ||
    (o.entities !== undefined && !entities) ||
    !Array.isArray(predictions) ||
    !predictions.every((p) => typeof p === 'number' || p === null)
  ) {
    return { ok: false, reason: `line of request ${requestId}: inputs, entities or predictions malformed` };
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!KNOWN.has(k)) extra[k] = v;
  const part = num('part');
  const parts = num('parts');
  return {
    ok: true,
    record: {
      requestId,
      model,
      version,
      variant: str('variant') ?? '',
      api: str('api') ?? '',
      timestamp,
      status,
      latencyMs: num('latency_ms') ?? Number.NaN,
      rows: num('rows') ?? predictions.length,
      ...(part !== undefined ? { part } : {}),
      ...(parts !== undefined ? { parts } : {}),
      inputs,
      // JSON has no NaN: a non-finite output was logged as null.
      predictions: predictions.map((p) => (p === null ? Number.NaN : (p as number))),
      ...(entities ? { entities } : {}),
      ...(str('error_code') ? { errorCode: str('error_code')! } : {}),
      extra,
    },
  };
}
