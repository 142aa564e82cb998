import { randomUUID } from 'node:crypto';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
} from '../../platform/errors';
import type { EventPublisher } from '../../platform/events';
import type {
  PendingTransition,
  RegistrationAttempt,
  RegistryStore,
  StageMove,
  StoredModel,
} from '../store/registry-store';
import type { ModelVersion, RegisteredModel, RegistryChange, Stage } from './model';
import { STAGES } from './model';
import { registrationFailure } from './model-source';
import {
  clip,
  LIMITS,
  parseStage,
  parseVersion,
  validateAlias,
  validateKey,
  validateLength,
  validateModelName,
  validateRunId,
  validateTagValue,
} from './validation';

export const REGISTRY_EVENT_SOURCE = 'mlops.registry';

/**
 * How long a registration check may run before a reader takes it over: twice the tracking
 * function's 29 s timeout, so no check that started it can still be running.
 */
export const REGISTRATION_TIMEOUT_MS = 60_000;

/** Checks a version's source: resolves it to ONNX bytes and loads them; throws with export guidance. */
export type SourceChecker = (source: string) => Promise<void>;

/**
 * The model registry: models, versions, stages and aliases as MLflow has them. The one
 * Production version is a pointer on the model item changed by compare-and-set, so racing
 * transitions serialize; moving a version into Production archives the previous one.
 * Every stage and alias change is recorded and published as an event.
 */
export class RegistryService {
  constructor(
    private readonly store: RegistryStore,
    private readonly events: EventPublisher,
    private readonly checkSource: SourceChecker,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a registered model; RESOURCE_ALREADY_EXISTS when the name is taken. */
  async createModel(
    req: { name: string; description?: string; tags?: { key: string; value: string }[] },
    user: string,
  ): Promise<RegisteredModel> {
    validateModelName(req.name);
    validateLength('description', req.description ?? '', LIMITS.description);
    const tags = registryTags(req.tags);
    const t = this.now();
    const model: RegisteredModel = {
      name: req.name,
      creation_timestamp: t,
      last_updated_timestamp: t,
      user_id: user,
      description: req.description ?? '',
      tags,
      aliases: {},
    };
    if ((await this.store.createModel(model)) === 'exists') {
      throw new AlreadyExistsError(`Registered Model (name=${clip(req.name)}) already exists.`);
    }
    return model;
  }

  /** The model with its concurrency state, finishing a pending transition first. */
  async stored(name: string): Promise<StoredModel> {
    validateModelName(name);
    let m = await this.store.getModel(name);
    if (!m) throw new NotFoundError(`Registered Model with name=${clip(name)} not found`);
    if (m.pending) {
      await this.applyPending(name, m.pending);
      m = (await this.store.getModel(name)) ?? m;
    }
    return m;
  }

  /** A model and its latest version per stage. */
  async getModel(name: string): Promise<{ model: RegisteredModel; latest: ModelVersion[] }> {
    const m = await this.stored(name);
    return { model: m.model, latest: latestPerStage(await this.listVersions(name)) };
  }

  async renameModel(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(newName);
    await this.stored(name);
    if ((await this.store.renameModel(name, newName, this.now())) === 'exists') {
      throw new AlreadyExistsError(`Registered Model (name=${clip(newName)}) already exists.`);
    }
    return (await this.stored(newName)).model;
  }

  async updateModel(name: string, description: string | undefined): Promise<RegisteredModel> {
    validateLength('description', description ?? '', LIMITS.description);
    await this.stored(name);
    await this.store.updateModel(name, { description }, this.now());
    return (await this.stored(name)).model;
  }

  async deleteModel(name: string): Promise<void> {
    await this.stored(name);
    await this.store.deleteModel(name);
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    registryTags([{ key, value }]);
    await this.stored(name);
    await this.store.updateModel(name, { setTags: { [key]: value } }, this.now());
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    await this.stored(name);
    await this.store.updateModel(name, { deleteTags: [key] }, this.now());
  }

  async listModels(): Promise<RegisteredModel[]> {
    return this.store.listModels();
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const versions = await this.store.listVersions(name);
    return Promise.all(versions.map((v) => this.settleVersion(v)));
  }

  /** The latest version in each requested stage (all stages when none given). */
  async latestVersions(name: string, stages: string[] | undefined): Promise<ModelVersion[]> {
    await this.stored(name);
    const wanted = stages?.length ? stages.map(parseStage) : [...STAGES];
    return latestPerStage(await this.listVersions(name)).filter((v) => wanted.includes(v.current_stage));
  }

  /**
   * Registers a version: created PENDING_REGISTRATION, then READY once its source loads
   * in onnxruntime-node with tensor outputs, else FAILED_REGISTRATION with the reason.
   * A check a crash abandoned is taken over by a reader (settleVersion).
   */
  async createVersion(
    req: {
      name: string;
      source: string;
      run_id?: string;
      run_link?: string;
      description?: string;
      tags?: { key: string; value: string }[];
    },
    user: string,
  ): Promise<ModelVersion> {
    if (!req.source) throw new InvalidParameterError("Missing value for required parameter 'source'.");
    validateLength('source', req.source, LIMITS.uri);
    validateLength('run_link', req.run_link ?? '', LIMITS.uri);
    validateLength('description', req.description ?? '', LIMITS.description);
    if (req.run_id) validateRunId(req.run_id);
    const tags = registryTags(req.tags);
    await this.stored(req.name);
    const version = await this.store.nextVersion(req.name);
    const t = this.now();
    const pending: ModelVersion = {
      name: req.name,
      version,
      creation_timestamp: t,
      last_updated_timestamp: t,
      user_id: user,
      current_stage: 'None',
      description: req.description ?? '',
      source: req.source,
      run_id: req.run_id ?? '',
      run_link: req.run_link ?? '',
      status: 'PENDING_REGISTRATION',
      status_message: '',
      tags,
    };
    const attempt: RegistrationAttempt = { startedAt: t, attempt: 1 };
    await this.store.putVersion(pending, attempt);
    const outcome = await this.check(req.source);
    const done = { ...outcome, last_updated_timestamp: this.now() };
    if (!(await this.store.settleRegistration(req.name, version, attempt, done))) {
      // This check outlived its time and a reader took it over: what it wrote stands.
      return (await this.store.getVersion(req.name, version)) ?? { ...pending, ...outcome };
    }
    return { ...pending, ...outcome };
  }

  private async check(source: string): Promise<Pick<ModelVersion, 'status' | 'status_message'>> {
    try {
      await this.checkSource(source);
      return { status: 'READY', status_message: '' };
    } catch (err) {
      return { status: 'FAILED_REGISTRATION', status_message: registrationFailure(err) };
    }
  }

  /**
   * A version as readers see it. A PENDING_REGISTRATION version whose check started more than
   * REGISTRATION_TIMEOUT_MS ago was abandoned (its process crashed or timed out): one reader
   * takes it over (a compare-and-set on its attempt) and runs the check again; if that retry
   * is abandoned too (a model that kills the process that loads it), the version is failed
   * with the reason instead of being retried for ever.
   */
  private async settleVersion(v: ModelVersion): Promise<ModelVersion> {
    if (v.status !== 'PENDING_REGISTRATION') return v;
    const attempt = await this.store.registrationOf(v.name, v.version);
    const now = this.now();
    if (!attempt || now - attempt.startedAt <= REGISTRATION_TIMEOUT_MS) return v;
    const reread = async () => (await this.store.getVersion(v.name, v.version)) ?? v;
    if (attempt.attempt >= 2) {
      await this.store.settleRegistration(v.name, v.version, attempt, {
        status: 'FAILED_REGISTRATION',
        status_message:
          'The registration check was interrupted twice (the process that loaded the model stopped before finishing); check that the model loads in ONNX Runtime, then register the source again.',
        last_updated_timestamp: now,
      });
      return reread();
    }
    const retry: RegistrationAttempt = { startedAt: now, attempt: attempt.attempt + 1 };
    const claimed = await this.store.settleRegistration(
      v.name,
      v.version,
      attempt,
      {
        status: 'PENDING_REGISTRATION',
        status_message: 'The registration check was interrupted; checking again.',
        last_updated_timestamp: now,
      },
      retry,
    );
    if (!claimed) return reread();
    const outcome = await this.check(v.source);
    await this.store.settleRegistration(v.name, v.version, retry, {
      ...outcome,
      last_updated_timestamp: this.now(),
    });
    return reread();
  }

  async getVersion(name: string, version: string | number): Promise<ModelVersion> {
    const v = parseVersion(version);
    await this.stored(name);
    const mv = await this.store.getVersion(name, v);
    if (!mv) throw new NotFoundError(`Model Version (name=${name}, version=${v}) not found`);
    return this.settleVersion(mv);
  }

  async updateVersion(name: string, version: string, description: string | undefined): Promise<ModelVersion> {
    validateLength('description', description ?? '', LIMITS.description);
    const mv = await this.getVersion(name, version);
    await this.store.updateVersion(name, mv.version, { description, last_updated_timestamp: this.now() });
    return this.getVersion(name, mv.version);
  }

  async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    registryTags([{ key, value }]);
    const mv = await this.getVersion(name, version);
    await this.store.updateVersion(name, mv.version, { setTags: { [key]: value } });
  }

  async deleteVersionTag(name: string, version: string, key: string): Promise<void> {
    const mv = await this.getVersion(name, version);
    await this.store.updateVersion(name, mv.version, { deleteTags: [key] });
  }

  /** Deletes a version, first dropping the Production pointer and aliases that name it. */
  async deleteVersion(name: string, version: string): Promise<void> {
    const mv = await this.getVersion(name, version);
    for (let attempt = 0; attempt < 20; attempt++) {
      const m = await this.stored(name);
      const alias = Object.entries(m.model.aliases).find(([, v]) => v === mv.version)?.[0];
      if (m.production !== mv.version && !alias) break;
      await this.store.compareAndSetModel(
        name,
        m.rev,
        { production: m.production === mv.version ? null : undefined, deleteAlias: alias },
        this.now(),
      );
    }
    await this.store.deleteVersion(name, mv.version);
  }

  /**
   * Moves a version to a stage. Into Production, the previous Production version is
   * archived (one Production version, always); `archive_existing_versions` also archives
   * the others in the target stage, as in MLflow.
   */
  async transition(
    req: { name: string; version: string; stage: string; archive_existing_versions?: boolean },
    user: string,
  ): Promise<ModelVersion> {
    const stage = parseStage(req.stage);
    const version = parseVersion(req.version);
    for (let attempt = 0; attempt < 50; attempt++) {
      const m = await this.stored(req.name);
      const versions = await this.listVersions(req.name);
      const target = versions.find((v) => v.version === version);
      if (!target) throw new NotFoundError(`Model Version (name=${req.name}, version=${version}) not found`);
      if ((stage === 'Production' || stage === 'Staging') && target.status !== 'READY') {
        throw new InvalidStateError(
          `Model version ${version} of '${req.name}' is ${target.status}${target.status_message ? ` (${target.status_message})` : ''}; only READY versions can move to ${stage}.`,
        );
      }
      const moves: StageMove[] = [];
      if (target.current_stage !== stage || (m.production === version) !== (stage === 'Production')) {
        moves.push({ version, from: target.current_stage, to: stage });
      }
      for (const v of versions) {
        if (v.version === version) continue;
        const displaced =
          (stage === 'Production' &&
            (v.version === m.production ||
              (req.archive_existing_versions && v.current_stage === 'Production'))) ||
          (req.archive_existing_versions &&
            stage !== 'Production' &&
            stage !== 'Archived' &&
            stage !== 'None' &&
            v.current_stage === stage);
        if (displaced) moves.push({ version: v.version, from: v.current_stage, to: 'Archived' });
      }
      if (moves.length === 0) return target;
      const production = stage === 'Production' ? version : m.production === version ? null : undefined;
      const pending: PendingTransition = {
        id: randomUUID(),
        rev: m.rev + 1,
        moves,
        user_id: user,
        timestamp: this.now(),
      };
      if (!(await this.store.compareAndSetModel(req.name, m.rev, { production, pending }, this.now()))) {
        await jitter(attempt);
        continue;
      }
      await this.applyPending(req.name, pending);
      return this.getVersion(req.name, version);
    }
    throw new ConflictError(`Too many concurrent changes to model '${req.name}'; retry the transition`);
  }

  /** Applies a committed transition's moves, records and publishes them, then clears it (idempotent). */
  private async applyPending(name: string, p: PendingTransition): Promise<void> {
    const now = this.now();
    for (const move of p.moves) await this.store.applyStage(name, move, p.rev, now);
    for (const move of p.moves) {
      const change: RegistryChange = {
        kind: 'stage',
        name,
        version: move.version,
        from: move.from,
        to: move.to,
        user_id: p.user_id,
        timestamp: p.timestamp,
      };
      await this.store.addChange(change, `${p.id}-${move.version}`);
      await this.events.publish('ModelVersionStageChanged', {
        ...change,
        change_id: `${p.id}-${move.version}`,
      });
    }
    await this.store.clearPending(name, p.id);
  }

  /** Points an alias at a version (moving it if it pointed elsewhere). */
  async setAlias(name: string, alias: string, version: string, user: string): Promise<void> {
    validateAlias(alias);
    const mv = await this.getVersion(name, version);
    await this.changeAlias(name, alias, mv.version, user);
  }

  async deleteAlias(name: string, alias: string, user: string): Promise<void> {
    validateAlias(alias);
    await this.changeAlias(name, alias, undefined, user);
  }

  private async changeAlias(
    name: string,
    alias: string,
    version: string | undefined,
    user: string,
  ): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const m = await this.stored(name);
      const from = m.model.aliases[alias];
      if (from === version) return;
      if (version === undefined && from === undefined) return;
      const ok = await this.store.compareAndSetModel(
        name,
        m.rev,
        version === undefined ? { deleteAlias: alias } : { setAlias: [alias, version] },
        this.now(),
      );
      if (!ok) {
        await jitter(attempt);
        continue;
      }
      const change: RegistryChange = {
        kind: 'alias',
        name,
        alias,
        version: version ?? from ?? '',
        from: from ?? '',
        to: version ?? '',
        user_id: user,
        timestamp: this.now(),
      };
      const id = `${m.rev + 1}-alias`;
      await this.store.addChange(change, id);
      await this.events.publish('ModelAliasChanged', { ...change, change_id: `${name}-${id}` });
      return;
    }
    throw new ConflictError(`Too many concurrent changes to model '${name}'; retry`);
  }

  /** The version an alias points at, or RESOURCE_DOES_NOT_EXIST. */
  async getByAlias(name: string, alias: string): Promise<ModelVersion> {
    const m = await this.stored(name);
    const version = m.model.aliases[alias];
    if (!version) throw new NotFoundError(`Registered model alias ${clip(alias)} not found.`);
    return this.getVersion(name, version);
  }

  /** Every recorded stage and alias change of a model, oldest first. */
  async changes(name: string): Promise<RegistryChange[]> {
    await this.stored(name);
    return this.store.listChanges(name);
  }
}

function registryTags(tags: { key: string; value: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    validateKey('tag', t.key);
    validateTagValue(t.key, t.value, LIMITS.registryTagValue);
    out[t.key] = t.value;
  }
  return out;
}

/** The highest version in each stage. */
export function latestPerStage(versions: readonly ModelVersion[]): ModelVersion[] {
  const best = new Map<Stage, ModelVersion>();
  for (const v of versions) {
    const cur = best.get(v.current_stage);
    if (!cur || Number(v.version) > Number(cur.version)) best.set(v.current_stage, v);
  }
  return [...best.values()].sort((a, b) => Number(a.version) - Number(b.version));
}

function jitter(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
}
