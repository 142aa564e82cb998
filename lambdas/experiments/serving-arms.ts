import type { ArmChoice, ArmPicker } from '../serving/api/bindings';
import { ModelHost, type ServedModel } from '../serving/domain/served-model';
import type { VariantShare } from './allocation';
import { assignVariant } from './assignment';
import type { ExperimentPlan } from './store/experiment-store';

export interface ExperimentArmsDeps {
  /** The plan holding the served model's running slot: one store read. */
  readonly running: (model: string) => Promise<ExperimentPlan | undefined>;
  /** Loads a version of the served model into a session of its own (`loadServedModel`). */
  readonly load: (version: string) => Promise<ServedModel>;
  /** How long a looked-up plan is used before it is read again. @default 30 s */
  readonly ttlMs?: number;
  /** Least time between attempts to load a version that failed. @default 1 s */
  readonly retryMs?: number;
  readonly now?: () => number;
  /** Where a version that cannot load, or a failed lookup, is reported. @default console.warn */
  readonly warn?: (message: string) => void;
}

/** A looked-up plan (or none), with its allocation in assignment order. */
interface Cached {
  readonly plan: ExperimentPlan | undefined;
  readonly allocation: VariantShare[];
  readonly at: number;
}

/** Sessions of versions no longer in the experiment are released after in-flight requests had time to finish. */
const RELEASE_GRACE_MS = 60_000;

/**
 * Live assignment in the predict function. The served model's running experiment is read
 * at most once per `ttlMs` (the first request waits for it; later ones use the cached plan
 * while a refresh runs), so the hot path reads no store. A unit gets its sticky arm
 * (`assignVariant`), and the arm's version scores it: the served model itself, or a second
 * session loaded once beside it through the same ModelHost and loader. A version that
 * cannot load leaves its units unassigned (served by the served model, no exposure) rather
 * than failing the request; the sample ratio check then shows the gap.
 *
 * @example
 * const arms = new ExperimentArms({ running: (m) => store.running(m), load: (v) => loadServedModel(deps, { name, version: v }) });
 * const choice = await arms.pick('user-1', served); // { experiment: 'e1', arm: 'control', model }
 */
export class ExperimentArms implements ArmPicker {
  private cached: Cached | undefined;
  private lookup: Promise<Cached> | undefined;
  private readonly hosts = new Map<string, ModelHost>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();

  constructor(private readonly deps: ExperimentArmsDeps) {
    this.ttlMs = deps.ttlMs ?? 30_000;
    this.now = deps.now ?? Date.now;
    this.warn = deps.warn ?? ((m) => console.warn(m));
  }

  async pick(unitId: string, served: ServedModel): Promise<ArmChoice | undefined> {
    const { plan, allocation } = await this.current(served);
    if (!plan || plan.model !== served.name) return undefined;
    const arm = assignVariant(allocation, plan.salt, unitId);
    const version = arm === 'control' ? plan.control_version : plan.treatment_version;
    if (version === served.version) return { experiment: plan.id, arm, model: served };
    const state = await this.hostFor(version).status();
    if (!state.ready) {
      this.warnOnce(
        `experiment '${plan.id}': version ${version} of '${plan.model}' (${arm}) does not load, its units are served by version ${served.version} and not counted: ${state.reason}`,
      );
      return undefined;
    }
    return { experiment: plan.id, arm, model: state.model };
  }

  /** The cached plan: looked up when there is none, refreshed in the background when stale. */
  private async current(served: ServedModel): Promise<Cached> {
    const cached = this.cached;
    if (cached && this.now() - cached.at < this.ttlMs) return cached;
    this.lookup ??= this.refresh(served, cached).finally(() => {
      this.lookup = undefined;
    });
    return cached ?? this.lookup;
  }

  private async refresh(served: ServedModel, previous: Cached | undefined): Promise<Cached> {
    const model = served.name;
    let next: Cached;
    try {
      const plan = await this.deps.running(model);
      next = {
        plan,
        allocation: plan
          ? [
              { name: 'control', share: plan.allocation.control },
              { name: 'treatment', share: plan.allocation.treatment },
            ]
          : [],
        at: this.now(),
      };
    } catch (err) {
      // Keep serving what was known; try again after another ttl.
      this.warnOnce(`experiment lookup for '${model}' failed: ${(err as Error).message}`);
      next = { plan: previous?.plan, allocation: previous?.allocation ?? [], at: this.now() };
    }
    this.cached = next;
    this.retire(next.plan);
    if (next.plan) {
      // Load the arms' versions now, so the first unit of an arm does not wait for it.
      for (const v of [next.plan.control_version, next.plan.treatment_version]) {
        if (v !== served.version) this.hostFor(v).start();
      }
    }
    return next;
  }

  private hostFor(version: string): ModelHost {
    let host = this.hosts.get(version);
    if (!host) {
      host = new ModelHost(() => this.deps.load(version), this.deps.retryMs ?? 1000, this.now);
      this.hosts.set(version, host);
    }
    return host;
  }

  /** Releases the sessions of versions the current plan no longer uses. */
  private retire(plan: ExperimentPlan | undefined): void {
    for (const [version, host] of this.hosts) {
      if (plan && (version === plan.control_version || version === plan.treatment_version)) continue;
      this.hosts.delete(version);
      const timer = setTimeout(() => {
        void host.status().then((s) => (s.ready ? s.model.scorer.release() : undefined));
      }, RELEASE_GRACE_MS);
      timer.unref?.();
    }
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warn(message);
  }
}
