import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { NotFoundError } from '../lambdas/platform/errors';
import {
  parseJsonBody,
  type RunningAwsService,
  readRequestBody,
  AwsServiceError as SfnApiError,
  sendAnswer,
  serveAwsApi,
} from './aws-service-server';
import type { ExecutionRecord, LocalStepFunctions } from './stepfunctions';

/** What `AWS_ENDPOINT_URL_SFN` is set to. */
export type RunningSfnApi = RunningAwsService;

/** `arn:aws:states:...:stateMachine:<id>` (what the template's Ref resolves to locally) → `<id>`. */
function machineOf(arn: unknown): string {
  const id = typeof arn === 'string' ? arn.split(':stateMachine:')[1] : undefined;
  if (!id) throw new SfnApiError(400, 'InvalidArn', `Invalid state machine ARN: '${String(arn)}'`);
  return id;
}

const epoch = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

function describeOf(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${r.stateMachine}`,
    name: r.name,
    status: r.status,
    startDate: epoch(r.startDate),
    ...(r.stopDate ? { stopDate: epoch(r.stopDate) } : {}),
    input: JSON.stringify(r.input),
    ...(r.output !== undefined ? { output: JSON.stringify(r.output) } : {}),
    ...(r.error
      ? {
          error: r.error.Error,
          cause: typeof r.error.Cause === 'string' ? r.error.Cause : JSON.stringify(r.error.Cause),
        }
      : {}),
  };
}

/**
 * Serves the local Step Functions runtime over the AWS JSON 1.0 protocol of
 * `@aws-sdk/client-sfn` (StartExecution, DescribeExecution, StopExecution, ListExecutions), so a function
 * that starts a workflow runs unchanged locally. An execution runs in the background, its
 * record kept by LocalStepFunctions (`<dataDir>/executions/`), as `run()` keeps it.
 *
 * @example
 * const api = await startSfnApi(() => runtime.stepFunctions, dataDir);
 * new SFNClient({ endpoint: api.url }).send(new StartExecutionCommand({ stateMachineArn, input: '{}' }));
 */
export async function startSfnApi(
  stepFunctions: () => LocalStepFunctions | undefined,
  dataDir: string,
  port = 0,
): Promise<RunningSfnApi> {
  const running = new Set<Promise<unknown>>();
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    sendAnswer(res, status, body, { 'content-type': 'application/x-amz-json-1.0', ...headers });
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = parseJsonBody(await readRequestBody(req));
    const sfn = stepFunctions();
    if (!sfn) throw new SfnApiError(503, 'ServiceUnavailable', 'the local runtime is starting');
    const op = target.replace(/^AWSStepFunctions\./, '');
    if (op === 'StartExecution') {
      const machine = sfn.find(machineOf(body.stateMachineArn));
      const name = typeof body.name === 'string' && body.name ? body.name : randomUUID();
      let input: unknown = {};
      try {
        input = body.input === undefined ? {} : JSON.parse(String(body.input));
      } catch {
        throw new SfnApiError(400, 'InvalidExecutionInput', 'input is not valid JSON');
      }
      const previous = sfn.describe(machine.logicalId, name);
      if (previous && JSON.stringify(previous.input) !== JSON.stringify(input)) {
        throw new SfnApiError(400, 'ExecutionAlreadyExists', `Execution Already Exists: '${name}'`);
      }
      // Runs in the background; run() records the execution (RUNNING) before its first step.
      const execution = sfn.run(machine.logicalId, { name, input: input as never }).catch(() => undefined);
      running.add(execution);
      void execution.finally(() => running.delete(execution));
      const started = await waitForRecord(sfn, machine.logicalId, name);
      return send(res, 200, { executionArn: started.executionArn, startDate: epoch(started.startDate) });
    }
    if (op === 'DescribeExecution') {
      const arn = String(body.executionArn ?? '');
      const m = /:execution:([^:]+):(.+)$/.exec(arn);
      const record = m ? sfn.describe(m[1] as string, m[2] as string) : undefined;
      if (!record) throw new SfnApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
      return send(res, 200, describeOf(record));
    }
    if (op === 'StopExecution') {
      const arn = String(body.executionArn ?? '');
      const m = /:execution:([^:]+):(.+)$/.exec(arn);
      const record = m ? sfn.describe(m[1] as string, m[2] as string) : undefined;
      if (!m || !record)
        throw new SfnApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
      const [, machine, name] = m as unknown as [string, string, string];
      // A stopped or finished execution is left as it is (the call is idempotent).
      if (sfn.stop(machine, name, String(body.error ?? ''), String(body.cause ?? ''))) {
        const stopped = await waitForRecord(sfn, machine, name, (r) => r.status !== 'RUNNING');
        return send(res, 200, { stopDate: epoch(stopped.stopDate) });
      }
      return send(res, 200, { stopDate: epoch(record.stopDate) ?? Date.now() / 1000 });
    }
    if (op === 'ListExecutions') {
      const machine = sfn.find(machineOf(body.stateMachineArn));
      const dir = join(dataDir, 'executions', machine.logicalId);
      const records = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.json'))
            .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ExecutionRecord)
        : [];
      const filtered = records
        .filter((r) => !body.statusFilter || r.status === body.statusFilter)
        .sort((a, b) => b.startDate.localeCompare(a.startDate))
        .slice(0, Number(body.maxResults) || 100);
      return send(res, 200, {
        executions: filtered.map((r) => {
          const d = describeOf(r);
          return {
            executionArn: d.executionArn,
            stateMachineArn: d.stateMachineArn,
            name: d.name,
            status: d.status,
            startDate: d.startDate,
            ...(d.stopDate ? { stopDate: d.stopDate } : {}),
          };
        }),
      });
    }
    throw new SfnApiError(400, 'UnknownOperationException', `No operation '${target}'`);
  };
  return serveAwsApi(
    route,
    (res, e) => send(res, e.status, { __type: e.type, message: e.message }, { 'x-amzn-errortype': e.type }),
    {
      port,
      fault: 'InternalFailure',
      classify: (err) =>
        err instanceof NotFoundError
          ? new SfnApiError(400, 'StateMachineDoesNotExist', err.message)
          : undefined,
    },
  );
}

/** The execution's record once `ready` (run() writes it before its first await; a stop, once the engine aborted). */
async function waitForRecord(
  sfn: LocalStepFunctions,
  machine: string,
  name: string,
  ready: (r: ExecutionRecord) => boolean = () => true,
) {
  for (let i = 0; i < 500; i++) {
    const r = sfn.describe(machine, name);
    if (r && ready(r)) return r;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new SfnApiError(500, 'InternalFailure', `execution '${name}' did not start or stop in time`);
}
