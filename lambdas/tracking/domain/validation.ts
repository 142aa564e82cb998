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
  alias: 255,
  maxSearchResults: 50000,
} as const;

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
      `Invalid ${kind} name: '${key}'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`,
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
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such (no '..', '.' or empty segments, no leading '/').`,
    );
  }
}

/** A param value: a string of at most 6000 characters. */
export function validateParamValue(key: string, value: string): void {
  if (value.length > LIMITS.paramValue) {
    throw new InvalidParameterError(
      `Param value for key '${key}' had length ${value.length}, which exceeded length limit of ${LIMITS.paramValue}.`,
    );
  }
}

/** A run tag value: at most 8000 characters. */
export function validateTagValue(key: string, value: string, limit: number = LIMITS.runTagValue): void {
  if (value.length > limit) {
    throw new InvalidParameterError(
      `Tag value for key '${key}' had length ${value.length}, which exceeded length limit of ${limit}.`,
    );
  }
}

/** A run id: letters, digits, `_` and `-`, starting with a letter or digit. */
export function validateRunId(runId: string): void {
  if (!RUN_ID_RE.test(runId)) {
    throw new InvalidParameterError(`Invalid value '${runId}' for parameter 'run_id': not a valid run id.`);
  }
}

/** An experiment id: letters, digits, `_` and `-`, at most 64 characters. */
export function validateExperimentId(id: string): void {
  if (!EXPERIMENT_ID_RE.test(id)) {
    throw new InvalidParameterError(
      `Invalid value '${id}' for parameter 'experiment_id': not a valid experiment id.`,
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
}

/** A model alias: `^[\w-]*$`, at most 255 characters, not `latest`, not `v<digits>`. */
export function validateAlias(alias: string): void {
  if (alias.length === 0 || alias.length > LIMITS.alias || !ALIAS_RE.test(alias)) {
    throw new InvalidParameterError(
      `Invalid alias name: '${alias}'. Aliases are 1 to ${LIMITS.alias} letters, digits, underscores or dashes.`,
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
  if (name.length > 500 || /[/:%]/.test(name)) {
    throw new InvalidParameterError(
      `Invalid model name '${name}': use at most 500 characters and no '/', ':' or '%'.`,
    );
  }
}

/** Normalizes a stage name case-insensitively (`production` -> `Production`). */
export function parseStage(stage: string): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === stage.trim().toLowerCase());
  if (!found) {
    throw new InvalidParameterError(
      `Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(', ')}.`,
    );
  }
  return found;
}

/** A version number: a positive integer sent as a string. */
export function parseVersion(version: string | number): string {
  const text = String(version).trim();
  if (!/^[1-9]\d{0,9}$/.test(text)) {
    throw new InvalidParameterError(
      `Invalid value '${version}' for parameter 'version': use a positive integer.`,
    );
  }
  return text;
}

/**
 * A metric value from JSON: a number, or MLflow's textual NaN/Infinity. Infinities are
 * clamped to the largest finite double, as MLflow does.
 */
export function parseMetricValue(key: string, value: unknown): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^(NaN|[+-]?Infinity|[+-]?inf)$/i.test(value.trim())) {
    n = /nan/i.test(value) ? Number.NaN : value.trim().startsWith('-') ? -Infinity : Infinity;
  } else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    n = Number(value);
  } else {
    throw new InvalidParameterError(
      `Got invalid value ${JSON.stringify(value)} for metric '${key}' (expected a number).`,
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
      `Invalid value ${JSON.stringify(value)} for parameter '${name}': use an integer.`,
    );
  }
  return n;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
