import { beforeAll, describe, expect, it } from 'vitest';
import { PredictionLog } from '../../lambdas/serving/domain/prediction-log';
import { matchesFilter, parseFilterPattern } from '../../local/log-subscriptions';
import { synthTemplate } from '../../local/synth';
import type { CfnTemplate } from '../../local/template';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are asserted by path
type Resources = Record<string, { Type: string; Properties?: any }>;

let resources: Resources;

beforeAll(() => {
  const template: CfnTemplate = synthTemplate({ stage: 'moncdk' });
  resources = template.Resources as Resources;
}, 120_000);

/** The prediction log lines serving writes for one accepted and two rejected requests. */
function servingLines(): { ok: string; rejected: string; failed: string } {
  const lines: string[] = [];
  const log = new PredictionLog(
    (l) => lines.push(l),
    () => Date.parse('2026-03-01T12:00:00Z'),
  );
  const base = { version: '3', variant: '7', api: 'v1' as const, latencyMs: 1 };
  log.success({
    ...base,
    requestId: 'ok',
    model: 'churn',
    inputs: { spend: [35] },
    predictions: [0.2],
  });
  log.failure({
    ...base,
    requestId: 'rejected',
    model: 'no-such-model',
    status: 404,
    errorCode: 'RESOURCE_DOES_NOT_EXIST',
  });
  log.failure({ ...base, requestId: 'failed', model: 'churn', status: 500, errorCode: 'INTERNAL_ERROR' });
  return { ok: lines[0]!, rejected: lines[1]!, failed: lines[2]! };
}

describe('monitoring in the synthesized template', () => {
  it("the log shipper's subscription ships successful predictions only, not rejected requests", () => {
    const shipper = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && /MonitoringLogShipper/.test(id),
    )![0];
    const filters = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Logs::SubscriptionFilter' &&
        JSON.stringify(r.Properties.DestinationArn).includes(shipper),
    );
    expect(filters).toHaveLength(1);
    const expr = parseFilterPattern(filters[0]!.Properties.FilterPattern as string);
    const { ok, rejected, failed } = servingLines();
    expect(JSON.parse(rejected)).toMatchObject({ mlops_prediction: 1, status: 404, model: 'no-such-model' });
    expect(matchesFilter(expr, ok)).toBe(true);
    // A made-up model name in a 4xx would otherwise become a partition of its own.
    expect(matchesFilter(expr, rejected)).toBe(false);
    expect(matchesFilter(expr, failed)).toBe(false);
  });

  it('sizes the window, then streams it or aggregates it in Athena, with least privilege and encrypted results', () => {
    const machine = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && /MonitoringDriftJobMachine/.test(id),
    )![1];
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    for (const state of ['Size Window', 'Window Too Large?', 'Detect Drift', 'Aggregate Window In SQL']) {
      expect(definition).toContain(state);
    }
    const [workGroup] = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Athena::WorkGroup' && r.Properties.Name === 'monitoring-moncdk',
    );
    expect(workGroup!.Properties.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
    });
    const [jobId, job] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && /MonitoringDriftJob/.test(id) && !/Machine/.test(id),
    )!;
    expect(job.Properties.Environment.Variables).toMatchObject({
      AGGREGATE_ROWS: '10000000',
      ATHENA_WORKGROUP: 'monitoring-moncdk',
      LOG_DATABASE: 'monitoring_moncdk',
      LOG_TABLE: 'predictions',
    });
    const roleId = (job.Properties.Role['Fn::GetAtt'] as string[])[0]!;
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap(
        (r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
    const athena = statements.find((s) => JSON.stringify(s.Action).includes('athena:StartQueryExecution'))!;
    expect(JSON.stringify(athena.Resource)).toContain('workgroup/monitoring-moncdk');
    const glue = statements.find((s) => JSON.stringify(s.Action).includes('glue:GetTable'))!;
    expect(JSON.stringify(glue.Resource)).toContain('table/monitoring_moncdk/predictions');
    // No statement grants an action by a bare wildcard, nor a resource except X-Ray's (it has no resource-level permissions).
    for (const s of statements) {
      const actions = [s.Action].flat();
      expect(actions).not.toContain('*');
      if (!actions.every((a) => a.startsWith('xray:'))) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    }
    expect(jobId).toBeDefined();
  });

  it("gives the performance job the experiments' outcomes for proxy metrics, read only", () => {
    const [, job] = Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && /PerformanceJob/.test(id),
    )!;
    expect(job.Properties.Environment.Variables.EXPERIMENTS_TABLE).toBeDefined();
    const roleId = (job.Properties.Role['Fn::GetAtt'] as string[])[0]!;
    const actions = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
      .flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => /PutItem|UpdateItem|DeleteItem|BatchWrite/.test(a))).toEqual([]);
  });
});
