import { InvalidParameterError } from '../../platform/errors';
import { STAGES, type Stage } from './model';

/** MLflow's limits (mlflow/utils/validation.py). */
export const LIMITS = {
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchEntities: 1000,
  paramValue: 6000,
  runTagValue: 8000,
  keyLength: 250,
  experimentName: 500,
  registryTagKey: 250,
  registryTagValue: 5000,
  experimentTagValue: 5000,
  alias: 255,
  maxSearchResults: 50000,
  /** A run's name is also its `mlflow.runName` tag, so it has the tag's limit. */
  runName: 8000,
  /** Descriptions of registered models and versions (MLflow's SQL column size). */
  description: 5000,
  /** URIs: a version's source and run link, an experiment's artifact location. */
  uri: 2048,
  /** Dataset inputs (MLflow's validation.py). */
  datasetName: 500,
  datasetDigest: 36,
  inputTagKey: 255,
  inputTagValue: 500,
} as const;

/**
 * Echoed input in error messages: at most `max` characters, then `…`, so a rejected
 * 1 MB value does not come back in the answer.
 */
export function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string sent by a client cannot be stored as given, or undefined when it can:
 * U+0000 (cut short by C-string tools downstream) and lone UTF-16 surrogates (`"\ud800"`
 * in JSON: not representable in UTF-8, so stored text would silently differ).
 */
export function unsafeTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a null character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate';
  return undefined;
}

/**
 * Names (experiment, run, registered model) also refuse U+FFFD, the character a UTF-8
 * decoder leaves for invalid bytes, so a name sent in a broken encoding is refused instead
 * of stored as something the sender never wrote. Values may hold it on purpose.
 */
function checkNameText(what: string, name: string): void {
  const reason =
    unsafeTextReason(name) ??
    (name.includes('\uFFFD') ? 'contains U+FFFD (invalid UTF-8 in the request)' : undefined);
  if (reason) throw new InvalidParameterError(`Invalid ${what} '${clip(name)}': it ${reason}.`);
}

/** A string field of at most `limit` characters. */
export function validateLength(field: string, value: string, limit: number): void {
  if (value.length > limit) {
    throw new InvalidParameterError(
      `'${field}' is ${value.length} characters long, which exceeds the limit of ${limit}.`,
    );
  }
}

const KEY_RE = /^[/\w.\- :]*$/;
const RUN_ID_RE = /^[a-zA-Z0-9][\w-]{0,255}$/;
const EXPERIMENT_ID_RE = /^[a-zA-Z0-9][\w-]{0,63}$/;
const ALIAS_RE = /^[\w-]*$/;

/**
 * Checks a metric, param or tag key as MLflow does: allowed characters, length, and
 * unchanged by path normalisation (no `..` segment, no leading `/`), since keys become paths.
 */
export function validateKey(kind: 'metric' | 'param' | 'tag', key: string): void {
  if (key.length === 0) throw new InvalidParameterError(`Invalid ${kind} name: the name must not be empty.`);
  if (!KEY_RE.test(key)) {
    throw new InvalidParameterError(
      `Invalid ${kind} name: '${clip(key)}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
    );
  }
  if (key.length > LIMITS.keyLength) {
    throw new InvalidParameterError(
      `${cap(kind)} name '${key.slice(0, 40)}...' is ${key.length} characters long; the limit is ${LIMITS.keyLength}.`,
    );
  }
  const segments = key.split('/');
  if (key.startsWith('/') || segments.some((s) => s === '..' || s === '.') || key.includes('//')) {
    throw new InvalidParameterError(
      `Invalid ${kind} name: '${clip(key)}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such (no '..', '.' or empty segments, no leading '/').`,
    );
  }
}

/** A param value: a string of at most 6000 characters. */
export function validateParamValue(key: string, value: string): void {
  if (value.length > LIMITS.paramValue) {
    throw new InvalidParameterError(
      `Param value for key '${clip(key)}' had length ${value.length}, which exceeded length limit of ${LIMITS.paramValue}.`,
    );
  }
}

/** A run tag value: at most 8000 characters. */
export function validateTagValue(key: string, value: string, limit: number = LIMITS.runTagValue): void {
  if (value.length > limit) {
    throw new InvalidParameterError(
      `Tag value for key '${clip(key)}' had length ${value.length}, which exceeded length limit of ${limit}.`,
    );
  }
}

/** A run id: letters, digits, `_` and `-`, starting with a letter or digit. */
export function validateRunId(runId: string): void {
  if (!RUN_ID_RE.test(runId)) {
    throw new InvalidParameterError(
      `Invalid value '${clip(runId)}' for parameter 'run_id': not a valid run id.`,
    );
  }
}

/** An experiment id: letters, digits, `_` and `-`, at most 64 characters. */
export function validateExperimentId(id: string): void {
  if (!EXPERIMENT_ID_RE.test(id)) {
    throw new InvalidParameterError(
      `Invalid value '${clip(id)}' for parameter 'experiment_id': not a valid experiment id.`,
    );
  }
}

/** An experiment name: non-empty, at most 500 characters. */
export function validateExperimentName(name: string): void {
  if (name.trim().length === 0) {
    throw new InvalidParameterError("Invalid experiment name: ''. The name must not be empty.");
  }
  if (name.length > LIMITS.experimentName) {
    throw new InvalidParameterError(
      `Experiment name is ${name.length} characters long; the limit is ${LIMITS.experimentName}.`,
    );
  }
  checkNameText('experiment name', name);
}

/** A run name: at most 8000 characters (it is also the `mlflow.runName` tag), no U+FFFD. */
export function validateRunName(name: string): void {
  if (name.length > LIMITS.runName) {
    throw new InvalidParameterError(
      `Run name is ${name.length} characters long; the limit is ${LIMITS.runName}.`,
    );
  }
  checkNameText('run name', name);
}

/** A model alias: `^[\w-]*$`, at most 255 characters, not `latest`, not `v<digits>`. */
export function validateAlias(alias: string): void {
  if (alias.length === 0 || alias.length > LIMITS.alias || !ALIAS_RE.test(alias)) {
    throw new InvalidParameterError(
      `Invalid alias name: '${clip(alias)}'. Aliases are 1 to ${LIMITS.alias} letters, digits, underscores or dashes.`,
    );
  }
  if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw new InvalidParameterError(
      `Invalid alias name: '${alias}'. 'latest' and 'v<number>' are reserved; choose another alias.`,
    );
  }
}

/** A registered model name: non-empty, no '/' or ':' (they would break `models:/` URIs). */
export function validateModelName(name: string): void {
  if (name.trim().length === 0) {
    throw new InvalidParameterError("Missing value for required parameter 'name'.");
  }
  // 1000 bytes: the name is also an index sort key, which DynamoDB caps at 1024 bytes.
  if (name.length > 500 || Buffer.byteLength(name, 'utf8') > 1000 || /[/:%]/.test(name)) {
    throw new InvalidParameterError(
      `Invalid model name '${clip(name)}': use at most 500 characters (1000 bytes in UTF-8) and no '/', ':' or '%'.`,
    );
  }
  checkNameText('model name', name);
}

/** Normalizes a stage name case-insensitively (`production` -> `Production`). */
export function parseStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (!found) {
    throw new InvalidParameterError(
      `Invalid Model Version stage: ${clip(stage)}. Value must be one of ${STAGES.join(', ')}.`,
    );
  }
  return found;
}

/** A version number: a positive integer sent as a string. */
export function parseVersion(version: string | number): string {
  const text = String(version).trim();
  if (!/^[1-9]\d{0,9}$/.test(text)) {
    throw new InvalidParameterError(
      `Invalid value '${clip(String(version))}' for parameter 'version': use a positive integer.`,
    );
  }
  return text;
}

/**
 * A metric value from JSON: a number, or MLflow's textual NaN/Infinity. Infinities are
 * clamped to the largest finite double, as MLflow does.
 */
export function parseMetricValue(key: string, value: unknown): number {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    if (/^[+-]?(nan|inf|infinity)$/i.test(text)) {
      n = /nan/i.test(text) ? Number.NaN : text.startsWith('-') ? -Infinity : Infinity;
    } else if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
      n = Number(text); // '1e400' is Infinity, clamped below as MLflow's float() then clamp does
    }
  }
  if (n === undefined) {
    throw new InvalidParameterError(
      `Got invalid value ${clip(String(JSON.stringify(value)))} for metric '${clip(key)}' (expected a number).`,
    );
  }
  if (n === Infinity) return Number.MAX_VALUE;
  if (n === -Infinity) return -Number.MAX_VALUE;
  return n;
}

/** An int64 field (timestamp, step) given as a JSON number or a numeric string. */
export function parseInt64(name: string, value: unknown, fallback?: number): number {
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new InvalidParameterError(`Missing value for required parameter '${name}'.`);
  }
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new InvalidParameterError(
      `Invalid value ${clip(String(JSON.stringify(value)))} for parameter '${name}': use an integer from -2^53 to 2^53.`,
    );
  }
  return n;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
