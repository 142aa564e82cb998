import {
  AlreadyExistsError,
  ConflictError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
} from '../../platform/errors';
import type { VariantShare } from '../allocation';
import { type AnalysisOptions, analyzeExperiment } from '../analysis/analyze';
import type { AnalysisReport } from '../analysis/result';
import { addOutcome, emptyTotals, mergeTotals, type VariantTotals } from '../analysis/totals';
import { type ExperimentSpec, experimentAllocation, type Outcome } from '../model';
import type { ExperimentStore, StoredExperiment, StoredOutcome } from '../store/experiment-store';
import { afterLook, sameState, stateKey } from './looks';

/** A create older than this that never took its model's running slot was interrupted. */
export const INTERRUPTED_CREATE_MS = 60_000;
/** Conditional writes of the sequential state an analysis tries before answering 409. */
const STATE_ATTEMPTS = 8;
/** Units named in an error message, at most. */
const NAMED = 10;

/** The registry as experiments read it: a version's existence and status. */
export interface VersionLookup {
  getVersion(name: string, version: string): Promise<{ status: string } | undefined>;
}

export interface ExperimentServiceDeps {
  readonly store: ExperimentStore;
  readonly registry: VersionLookup;
  readonly now?: () => number;
}

/** What recording a batch of outcomes did. */
export interface OutcomeReceipt {
  readonly experiment: string;
  /** Outcomes in the batch (a repeated outcome_id counts once). */
  readonly received: number;
  /** Newly stored. */
  readonly recorded: number;
  /** Stored before (a retried batch) and left as they were. */
  readonly duplicates: number;
}

/**
 * The experiment lifecycle over the store. At most one experiment per model runs: it holds
 * the model's running slot, which the predict function reads. Without transactions each
 * change is a sequence of conditional writes, and a reader settles what an interrupted
 * sequence left (a record `starting` whose slot is taken becomes `running`; a record
 * `running` whose slot is gone was being stopped and becomes `stopped`).
 *
 * @example
 * const service = new ExperimentService({ store, registry });
 * await service.create(ExperimentSpecSchema.parse({ name: 'e1', model: 'churn', control_version: '1', treatment_version: '2' }));
 */
export class ExperimentService {
  private readonly store: ExperimentStore;
  private readonly registry: VersionLookup;
  private readonly now: () => number;

  constructor(deps: ExperimentServiceDeps) {
    this.store = deps.store;
    this.registry = deps.registry;
    this.now = deps.now ?? Date.now;
  }

  /**
   * Creates and starts an experiment: the allocation must sum to 100%, both versions must be
   * registered and READY, and the model must have no running experiment. Sending the same
   * spec again answers the stored experiment (a retried create).
   */
  async create(spec: ExperimentSpec): Promise<StoredExperiment> {
    const allocation = experimentAllocation(spec);
    if (spec.control_version === spec.treatment_version) {
      throw new InvalidParameterError(
        `control_version and treatment_version are both ${spec.control_version}: an A/B test compares two different versions`,
      );
    }
    await this.checkVersions(spec);
    const holder = await this.store.running(spec.model);
    if (holder && holder.id !== spec.name) await this.refuseIfRunning(spec.model, holder.id);

    const exp: StoredExperiment = {
      id: spec.name,
      model: spec.model,
      control_version: spec.control_version,
      treatment_version: spec.treatment_version,
      allocation: {
        control: (allocation[0] as VariantShare).share,
        treatment: (allocation[1] as VariantShare).share,
      },
      salt: spec.salt ?? spec.name,
      status: 'starting',
      created_at: new Date(this.now()).toISOString(),
    };
    const existing = await this.store.insert(exp);
    if (existing) {
      if (!samePlan(existing, exp)) {
        throw new AlreadyExistsError(
          `Experiment '${exp.id}' already exists (model '${existing.model}', versions ${existing.control_version} and ${existing.treatment_version}); choose another name`,
        );
      }
      if (existing.status !== 'starting') return this.settle(existing);
    }
    const stored = existing ?? exp;

    for (let attempt = 0; ; attempt++) {
      const held = await this.store.claimRunning(stored);
      if (held === undefined) break;
      const other = await this.store.get(held);
      if (attempt < 3 && (other === undefined || other.status === 'stopped' || other.status === 'failed')) {
        // A stop (or takeover) interrupted after its record changed: the slot is stale.
        await this.store.releaseRunning(stored.model, held);
        continue;
      }
      await this.store.remove(stored.id, 'starting');
      await this.refuseIfRunning(stored.model, held);
      throw new ConflictError(`Model '${stored.model}' is being changed by another request; retry`);
    }
    const started = await this.store.setStatus(stored.id, ['starting'], 'running', {
      started_at: new Date(this.now()).toISOString(),
    });
    if (!started) {
      // Stopped while starting: give the slot back.
      await this.store.releaseRunning(stored.model, stored.id);
    }
    return this.get(stored.id);
  }

  /** An experiment by id, its status settled; 404 when there is none. */
  async get(id: string): Promise<StoredExperiment> {
    const exp = await this.store.get(id);
    if (!exp) throw new NotFoundError(`Experiment '${id}' not found`);
    return this.settle(exp);
  }

  /** A model's experiments, newest first. */
  async list(model: string): Promise<StoredExperiment[]> {
    const all = await this.store.listByModel(model);
    return Promise.all(all.map((e) => this.settle(e)));
  }

  /** Stops an experiment: the predict function stops assigning units (within its cache time). Idempotent. */
  async stop(id: string): Promise<StoredExperiment> {
    const exp = await this.get(id);
    if (exp.status === 'stopped' || exp.status === 'failed') return exp;
    // Slot first: a crash between the two writes leaves `running` without a slot, which
    // readers settle as stopped; the other order would keep serving a stopped experiment.
    await this.store.releaseRunning(exp.model, exp.id);
    await this.store.setStatus(exp.id, ['starting', 'running'], 'stopped', {
      stopped_at: new Date(this.now()).toISOString(),
    });
    return this.get(id);
  }

  /**
   * Records a batch of outcomes, all or nothing as far as validation goes: a repeated
   * outcome_id with other content, an outcome already stored with other content, or a unit
   * never served in the experiment refuses the whole batch before anything is written.
   * Outcomes stored before (a retried batch) are left as they are.
   */
  async recordOutcomes(id: string, outcomes: readonly Outcome[]): Promise<OutcomeReceipt> {
    const exp = await this.store.get(id);
    if (!exp) throw new NotFoundError(`Experiment '${id}' not found`);
    const byId = new Map<string, Outcome>();
    for (const o of outcomes) {
      const seen = byId.get(o.outcome_id);
      if (seen === undefined) byId.set(o.outcome_id, o);
      else if (!sameOutcome(seen, o)) {
        throw new InvalidParameterError(
          `outcome '${o.outcome_id.slice(0, 64)}' is in the batch twice with different content`,
        );
      }
    }
    const units = [...new Set([...byId.values()].map((o) => o.unit_id))];
    const arms = await this.store.exposedArms(id, units);
    const unassigned = units.filter((u) => !arms.has(u));
    if (unassigned.length > 0) {
      throw new InvalidParameterError(
        `${unassigned.length} unit(s) of the batch were never served in experiment '${id}', so their outcomes cannot count: ${names(unassigned)}. A unit is assigned when a prediction with its unit_id is served while the experiment runs (exposures are recorded from the prediction log, usually within a minute); nothing of this batch was recorded`,
      );
    }
    const stored = await this.store.getOutcomes(id, [...byId.keys()]);
    const changed = [...stored.values()].filter((s) => !sameOutcome(s, byId.get(s.outcome_id) as Outcome));
    if (changed.length > 0) {
      throw new InvalidParameterError(
        `${changed.length} outcome_id(s) were recorded before with different content: ${names(changed.map((c) => c.outcome_id))}; an outcome_id names one outcome forever. Nothing of this batch was recorded`,
      );
    }
    const fresh: StoredOutcome[] = [...byId.values()]
      .filter((o) => !stored.has(o.outcome_id))
      .map((o) => ({
        outcome_id: o.outcome_id,
        unit_id: o.unit_id,
        arm: arms.get(o.unit_id) as string,
        converted: o.converted,
        value: o.value,
        timestamp: o.timestamp,
      }));
    const raced = await this.store.putOutcomes(id, fresh);
    const lost = [...raced.values()].filter((s) => !sameOutcome(s, byId.get(s.outcome_id) as Outcome));
    if (lost.length > 0) {
      throw new ConflictError(
        `${lost.length} outcome_id(s) were recorded by a concurrent request with different content: ${names(lost.map((l) => l.outcome_id))}; the others of this batch were recorded`,
      );
    }
    return {
      experiment: id,
      received: byId.size,
      recorded: fresh.length - raced.size,
      duplicates: stored.size + raced.size,
    };
  }

  /**
   * The analysis of the stored data: every exposed unit is one row, its outcomes added up
   * (converted if any converted, value the sum); exposed units without outcomes count as
   * not converted with value 0. Assignment counts come from the exposures.
   *
   * Each call is a look: the always-valid p-values are the running minimum over every look
   * with the same MDE, kept in the experiment's sequential state (one entry per UTC day), so a
   * later look's p-value never exceeds an earlier one's and the decision follows it.
   */
  async analyze(id: string, options: AnalysisOptions = {}): Promise<AnalysisReport> {
    const exp = await this.store.get(id);
    if (!exp) throw new NotFoundError(`Experiment '${id}' not found`);
    const allocation = experimentAllocation({
      name: exp.id,
      model: exp.model,
      control_version: exp.control_version,
      treatment_version: exp.treatment_version,
      allocation: exp.allocation,
    });
    const [counts, units] = await Promise.all([this.store.exposureCounts(id), this.unitOutcomes(id)]);
    const totals = totalsOf(counts, units);
    // Validated before any state is read: a bad option is a 400 whatever is stored.
    const first = analyzeExperiment(allocation, totals, options);
    const key = stateKey(first.mde_relative);
    const day = new Date(this.now()).toISOString().slice(0, 10);
    // Optimistic concurrency on the state's revision: a call that lost the race reads the
    // winner's minima and analyses again, so no look's p-value is lost (dynalite has no
    // transactions; a conditional put is enough for one item).
    for (let attempt = 0; attempt < STATE_ATTEMPTS; attempt++) {
      const stored = await this.store.sequentialState(id, key);
      const report = stored
        ? analyzeExperiment(allocation, totals, { ...options, previousSequentialP: stored.state.min })
        : first;
      const next = afterLook(stored?.state, report, day);
      if (sameState(stored?.state, next)) return report;
      if (await this.store.putSequentialState(id, key, next, stored?.revision)) return report;
    }
    throw new ConflictError(
      `Experiment '${id}' is being analysed by many requests at once; retry the analysis`,
    );
  }

  private async unitOutcomes(id: string): Promise<Map<string, UnitOutcome>> {
    const units = new Map<string, UnitOutcome>();
    for await (const page of this.store.outcomes(id)) {
      for (const o of page) {
        const u = units.get(o.unit_id);
        if (u === undefined) units.set(o.unit_id, { arm: o.arm, converted: o.converted, value: o.value });
        else {
          u.converted ||= o.converted;
          u.value += o.value;
        }
      }
    }
    return units;
  }

  private async checkVersions(spec: ExperimentSpec): Promise<void> {
    const versions = [spec.control_version, spec.treatment_version];
    const found = await Promise.all(versions.map((v) => this.registry.getVersion(spec.model, v)));
    const missing = versions.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      throw new NotFoundError(
        `Model '${spec.model.slice(0, 256)}' has no version ${missing.join(' and no version ')} in the registry; register it first`,
      );
    }
    const unready = versions.filter((_, i) => found[i]?.status !== 'READY');
    if (unready.length > 0) {
      throw new InvalidStateError(
        `Version ${unready.join(' and ')} of '${spec.model}' is not READY (${unready.map((v) => found[versions.indexOf(v)]?.status).join(', ')}); only READY versions can serve`,
      );
    }
  }

  private async refuseIfRunning(model: string, holderId: string): Promise<void> {
    const other = await this.store.get(holderId);
    const settled = other ? await this.settle(other) : undefined;
    if (settled && (settled.status === 'running' || settled.status === 'starting')) {
      throw new InvalidStateError(
        `Model '${model}' already has a running experiment '${holderId}'; stop it first (POST /v1/experiments/${holderId}/stop)`,
      );
    }
  }

  /** Finishes what an interrupted create or stop left (see the class comment). */
  private async settle(exp: StoredExperiment): Promise<StoredExperiment> {
    if (exp.status !== 'starting' && exp.status !== 'running') return exp;
    const slot = await this.store.running(exp.model);
    const holds = slot?.id === exp.id;
    const now = new Date(this.now()).toISOString();
    if (exp.status === 'starting' && holds) {
      await this.store.setStatus(exp.id, ['starting'], 'running', { started_at: now });
    } else if (exp.status === 'running' && !holds) {
      await this.store.setStatus(exp.id, ['running'], 'stopped', {
        stopped_at: now,
        status_message:
          'a stop was interrupted after the predict function stopped serving it; finished on read',
      });
    } else if (exp.status === 'starting' && this.now() - Date.parse(exp.created_at) > INTERRUPTED_CREATE_MS) {
      await this.store.setStatus(exp.id, ['starting'], 'failed', {
        status_message:
          'the create was interrupted before the experiment started; create it again under a new name',
      });
    } else {
      return exp;
    }
    return (await this.store.get(exp.id)) ?? exp;
  }
}

interface UnitOutcome {
  arm: string;
  converted: boolean;
  value: number;
}

/** Per-arm totals: units with outcomes, then the exposed units without any as zeros. */
export function totalsOf(
  exposed: ReadonlyMap<string, number>,
  units: ReadonlyMap<string, UnitOutcome>,
): Map<string, VariantTotals> {
  const totals = new Map<string, VariantTotals>();
  for (const u of units.values()) {
    let t = totals.get(u.arm);
    if (t === undefined) {
      t = emptyTotals();
      totals.set(u.arm, t);
    }
    addOutcome(t, u.converted, u.value);
  }
  for (const [arm, n] of exposed) {
    const t = totals.get(arm) ?? emptyTotals();
    // Outcomes are accepted only for exposed units, so n ≥ t.units.
    const silent = Math.max(0, n - t.units);
    totals.set(arm, mergeTotals(t, { units: silent, conversions: 0, valueMean: 0, valueM2: 0 }));
  }
  return totals;
}

function samePlan(a: StoredExperiment, b: StoredExperiment): boolean {
  return (
    a.model === b.model &&
    a.control_version === b.control_version &&
    a.treatment_version === b.treatment_version &&
    a.allocation.control === b.allocation.control &&
    a.allocation.treatment === b.allocation.treatment &&
    a.salt === b.salt
  );
}

function sameOutcome(
  a: Pick<Outcome, 'unit_id' | 'converted' | 'value' | 'timestamp'>,
  b: Pick<Outcome, 'unit_id' | 'converted' | 'value' | 'timestamp'>,
): boolean {
  return (
    a.unit_id === b.unit_id &&
    a.converted === b.converted &&
    a.value === b.value &&
    a.timestamp === b.timestamp
  );
}

function names(ids: readonly string[]): string {
  const shown = ids.slice(0, NAMED).map((u) => `'${u.slice(0, 64)}'`);
  return ids.length > NAMED ? `${shown.join(', ')} and ${ids.length - NAMED} more` : shown.join(', ');
}
