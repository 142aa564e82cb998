import { AlreadyExistsError, InvalidParameterError, NotFoundError } from '../../platform/errors';
import type { TrackingStore } from '../store/tracking-store';
import { EXPERIMENT_ATTRIBUTES, matches, parseFilter, type Searchable } from './filter';
import type { Experiment, ViewType } from './model';
import { comparatorFor, parseOrderBy } from './order-by';
import { decodePageToken, encodePageToken, queryFingerprint } from './page-token';
import {
  clip,
  LIMITS,
  validateExperimentId,
  validateExperimentName,
  validateKey,
  validateLength,
  validateTagValue,
} from './validation';

export const DEFAULT_EXPERIMENT_ID = '0';

/** Default artifact root of an experiment: served by the artifact proxy. */
export function defaultArtifactLocation(experimentId: string): string {
  return `mlflow-artifacts:/${experimentId}`;
}

/**
 * Experiments as MLflow has them: unique names, soft delete and restore, tags, and the
 * default experiment `0` ("Default") that always exists.
 */
export class ExperimentService {
  private defaultReady?: Promise<void>;

  constructor(
    private readonly store: TrackingStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates experiment 0 on first use (once per container; a conditional put makes it race-free). */
  ensureDefault(): Promise<void> {
    this.defaultReady ??= (async () => {
      if (await this.store.getExperiment(DEFAULT_EXPERIMENT_ID)) return;
      const t = this.now();
      await this.store.createExperiment({
        experiment_id: DEFAULT_EXPERIMENT_ID,
        name: 'Default',
        artifact_location: defaultArtifactLocation(DEFAULT_EXPERIMENT_ID),
        lifecycle_stage: 'active',
        creation_time: t,
        last_update_time: t,
        tags: {},
      });
    })().catch((err) => {
      this.defaultReady = undefined;
      throw err;
    });
    return this.defaultReady;
  }

  /** Creates an experiment; RESOURCE_ALREADY_EXISTS when the name is taken (deleted ones included). */
  async create(req: {
    name: string;
    artifact_location?: string;
    tags?: { key: string; value: string }[];
  }): Promise<string> {
    validateExperimentName(req.name);
    if (req.artifact_location) validateLength('artifact_location', req.artifact_location, LIMITS.uri);
    const tags: Record<string, string> = {};
    for (const t of req.tags ?? []) {
      validateKey('tag', t.key);
      validateTagValue(t.key, t.value, LIMITS.experimentTagValue);
      tags[t.key] = t.value;
    }
    await this.ensureDefault();
    if (await this.store.findExperimentIdByName(req.name)) throw exists(req.name);
    const id = await this.store.allocateExperimentId();
    const t = this.now();
    const outcome = await this.store.createExperiment({
      experiment_id: id,
      name: req.name,
      artifact_location: req.artifact_location || defaultArtifactLocation(id),
      lifecycle_stage: 'active',
      creation_time: t,
      last_update_time: t,
      tags,
    });
    if (outcome === 'name-taken') throw exists(req.name);
    return id;
  }

  /** The experiment, or RESOURCE_DOES_NOT_EXIST. */
  async get(id: string): Promise<Experiment> {
    validateExperimentId(id);
    if (id === DEFAULT_EXPERIMENT_ID) await this.ensureDefault();
    const exp = await this.store.getExperiment(id);
    if (!exp) throw new NotFoundError(`No Experiment with id=${id} exists`);
    return exp;
  }

  /** The experiment with that name (active or deleted), or RESOURCE_DOES_NOT_EXIST. */
  async getByName(name: string): Promise<Experiment> {
    validateExperimentName(name);
    await this.ensureDefault();
    const id = await this.store.findExperimentIdByName(name);
    const exp = id ? await this.store.getExperiment(id) : undefined;
    if (!exp) throw new NotFoundError(`Could not find experiment with name '${clip(name)}'`);
    return exp;
  }

  /** An active experiment, or an error saying it is deleted. */
  async getActive(id: string): Promise<Experiment> {
    const exp = await this.get(id);
    if (exp.lifecycle_stage !== 'active') {
      throw new InvalidParameterError(
        `The experiment ${id} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`,
      );
    }
    return exp;
  }

  /** Renames an active experiment. */
  async rename(id: string, newName: string): Promise<void> {
    validateExperimentName(newName);
    const exp = await this.getActive(id);
    if (exp.name === newName) return;
    const owner = await this.store.findExperimentIdByName(newName);
    if (owner && owner !== id) throw exists(newName);
    if ((await this.store.renameExperiment(exp, newName, this.now())) === 'name-taken') throw exists(newName);
  }

  /** Soft-deletes an experiment (its runs stay, as in MLflow); the default one cannot be deleted. */
  async delete(id: string): Promise<void> {
    if (id === DEFAULT_EXPERIMENT_ID) {
      throw new InvalidParameterError(
        "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
      );
    }
    await this.get(id);
    await this.store.setExperimentLifecycle(id, 'deleted', this.now());
  }

  /** Restores a deleted experiment. */
  async restore(id: string): Promise<void> {
    await this.get(id);
    await this.store.setExperimentLifecycle(id, 'active', this.now());
  }

  /** Sets (or overwrites) one experiment tag. */
  async setTag(id: string, key: string, value: string): Promise<void> {
    validateKey('tag', key);
    validateTagValue(key, value, LIMITS.experimentTagValue);
    await this.getActive(id);
    await this.store.setExperimentTag(id, key, value, this.now());
  }

  /** Searches experiments: MLflow's filter on attributes and tags, order_by, paging. */
  async search(req: {
    max_results?: number;
    page_token?: string;
    filter?: string;
    order_by?: string[];
    view_type?: ViewType;
  }): Promise<{ experiments: Experiment[]; next_page_token?: string }> {
    const max = req.max_results ?? 1000;
    if (max < 1 || max > LIMITS.maxSearchResults) {
      throw new InvalidParameterError(
        `Invalid value ${max} for parameter 'max_results': use 1 to ${LIMITS.maxSearchResults}.`,
      );
    }
    const clauses = parseFilter(req.filter, EXPERIMENT_ATTRIBUTES);
    const order = parseOrderBy(req.order_by, EXPERIMENT_ATTRIBUTES);
    const fp = queryFingerprint([
      'experiments',
      req.filter ?? '',
      req.order_by ?? [],
      req.view_type ?? 'ACTIVE_ONLY',
    ]);
    const offset = decodePageToken(req.page_token, fp)?.offset ?? 0;
    await this.ensureDefault();
    const view = req.view_type ?? 'ACTIVE_ONLY';
    const all = (await this.store.listExperiments())
      .filter((e) => view === 'ALL' || (view === 'ACTIVE_ONLY') === (e.lifecycle_stage === 'active'))
      .map(searchableExperiment)
      .filter((s) => matches(clauses, s));
    all.sort(
      comparatorFor(
        order,
        (a, b) =>
          b.exp.creation_time - a.exp.creation_time || (a.exp.experiment_id < b.exp.experiment_id ? -1 : 1),
      ),
    );
    const page = all.slice(offset, offset + max).map((s) => s.exp);
    const more = offset + max < all.length;
    return {
      experiments: page,
      next_page_token: more ? encodePageToken({ offset: offset + max }, fp) : undefined,
    };
  }
}

function exists(name: string): AlreadyExistsError {
  return new AlreadyExistsError(`Experiment(name=${clip(name)}) already exists.`);
}

function searchableExperiment(exp: Experiment): Searchable & { exp: Experiment } {
  return {
    exp,
    metric: () => undefined,
    param: () => undefined,
    tag: (k) => exp.tags[k],
    attribute: (k) => (exp as unknown as Record<string, string | number>)[k],
  };
}
