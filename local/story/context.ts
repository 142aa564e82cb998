import type { StoryData } from '../demo/generate';
import type { LocalRuntime } from '../runtime';

/** A story step failed: the CLI prints the step's name and exits non-zero. */
export class StoryStepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoryStepError';
  }
}

export interface StoryOptions {
  /** Users of the reference population. @default 2000 */
  readonly users?: number;
  /** Days of history. @default 180 */
  readonly days?: number;
  /** @default 42 */
  readonly seed?: number;
  /**
   * Makes this step fail (`--fail-at <step>`): the way to see, and test, how a failed step
   * is reported. The step throws before it does anything.
   */
  readonly failAt?: string;
  /** Pipeline trials of the challenger and of retraining. @default 6 */
  readonly trials?: number;
  /** Canary bake time per traffic step, seconds. @default 2 */
  readonly bakeSeconds?: number;
}

/** What each chapter found, for the next chapters, the summary and the report. */
export interface StoryFacts {
  model: string;
  data?: StoryData;
  quarantine?: { reportKey: string; reportPath: string; reason: string };
  runIds: string[];
  /** Registered versions by role. */
  versions: { v1?: string; v2?: string; retrained?: string; broken?: string };
  production: string[];
  deployments: { version: string; status: string; steps?: string; reason?: string }[];
  predictions: number;
  shadow?: { version: string; rows: number; agreement: number | null; divergent: boolean };
  experiment?: { id: string; decision: string; reason: string; units: number };
  labels?: { sent: number; auc?: number | null; testAuc?: number | null };
  /** The performance job's answer (per version: labelled rows, live metrics, drop from training). */
  performance?: unknown;
  drift?: { version: string; reasons: string[]; reportKey?: string; alarm: string };
  retraining?: { execution: string; trigger: string; registered?: string; reason?: string };
  rollback?: { version: string; reason: string; restored: string };
  driftReports: { title: string; html?: string; data?: unknown }[];
}

/** What every chapter works with. */
export interface StoryContext {
  readonly rt: LocalRuntime;
  readonly options: Required<Omit<StoryOptions, 'failAt'>> & { failAt?: string };
  readonly facts: StoryFacts;
  /** Lines of the local event bus's routing (`local/event-rules.ts`): which rule started what. */
  readonly events: string[];
  /** A line of progress under the current step. */
  say(line: string): void;
  /** Calls the platform's HTTP API (the local gateway); `/api/2.0/mlflow/...` for MLflow. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Like `api`, but any answer other than 2xx fails the step with the platform's message. */
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  ok(method: string, path: string, body?: unknown): Promise<any>;
  /** Waits (polling) until `probe` returns a value, or fails the step naming `what`. */
  until<T>(what: string, probe: () => Promise<T | undefined | false>, seconds?: number): Promise<T>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
