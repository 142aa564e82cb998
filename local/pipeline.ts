import type { PipelineState } from '../lambdas/pipeline/contract';
import type { LocalRuntime } from './runtime';
import type { ExecutionEvent, ExecutionRecord } from './stepfunctions';

/** The logical id fragment of the training pipeline's state machine in the template. */
export const TRAINING_PIPELINE = 'TrainingPipelineStateMachine';

export interface PipelineRunOptions {
  /** Execution name: a name that ran before returns that execution instead of training again. */
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** Receives one line per state entered, left, retried or failed. */
  readonly progress?: (line: string) => void;
}

/** Formats execution events as the progress lines `mlops pipeline run` prints. */
export function progressLine(ev: ExecutionEvent, started: number): string | undefined {
  const t = `${((ev.timestamp - started) / 1000).toFixed(1).padStart(6)}s`;
  const name = ev.state?.name;
  switch (ev.type) {
    case 'StateEntered':
      return ev.state?.type === 'Task' || ev.state?.type === 'Map' ? `${t}  ▶ ${name}` : undefined;
    case 'StateExited':
      return ev.state?.type === 'Task' || ev.state?.type === 'Map' ? `${t}  ✓ ${name}` : undefined;
    case 'StateFailed':
      return `${t}  ✗ ${name}: ${ev.Error}`;
    case 'StateRetried':
      return `${t}  ↻ ${name} (retry)`;
    case 'StateCaught':
      return `${t}  ⤷ ${name}: error caught, taking the failure path`;
    case 'MapIterationSucceeded':
      return `${t}    trial ${ev.index} done`;
    case 'MapIterationFailed':
      return `${t}    trial ${ev.index} failed`;
    default:
      return undefined;
  }
}

/**
 * Runs the synthesized training pipeline on the local runtime: the same state machine
 * definition `cdk deploy` deploys, each task running the handler module its Lambda runs.
 *
 * @example
 * const result = await runPipeline(rt, { name: 'demo-1', input, progress: console.log });
 */
export async function runPipeline(
  rt: LocalRuntime,
  options: PipelineRunOptions,
): Promise<ExecutionRecord & { reused: boolean; state?: PipelineState & Record<string, unknown> }> {
  const started = Date.now();
  const result = await rt.stepFunctions.run(TRAINING_PIPELINE, {
    name: options.name,
    input: options.input as never,
    onEvent: (ev) => {
      const line = progressLine(ev, started);
      if (line) options.progress?.(line);
    },
  });
  return { ...result, state: result.output as never };
}

/** The failed step of a failed execution, from its error, or undefined. */
export function failedStep(record: ExecutionRecord): string | undefined {
  if (record.status !== 'FAILED') return undefined;
  const failure = (record as { output?: { failure?: { error?: string } } }).output?.failure;
  return failure?.error ?? record.error?.Error;
}
