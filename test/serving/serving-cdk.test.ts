import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { servingRoutes } from '../../lambdas/serving/api/routes';
import { deploymentRoutes } from '../../lambdas/serving/deploy/routes';
import { buildApp } from '../../lib/app';
import type { Serving } from '../../lib/serving/serving';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are asserted by path
type Resources = Record<string, { Type: string; Properties?: any }>;

let resources: Resources;
let serving: Serving;
let stack: Stack;
let built: ReturnType<typeof buildApp>;
/** The same platform with serving's options left at their defaults. */
let defaults: Resources;

const idOf = (c: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(c.node.defaultChild as CfnElement);

/** Statements of the policies attached to a role. */
function statementsOf(res: Resources, roleId: string) {
  return Object.values(res)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
    .flatMap(
      (r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
}
const actionsOf = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** A method's full path, from its resource up to the API's root. */
function pathOf(res: Resources, method: { Properties: { ResourceId: unknown } }): string {
  const parts: string[] = [];
  let ref = method.Properties.ResourceId as { Ref?: string };
  while (ref?.Ref && res[ref.Ref]?.Type === 'AWS::ApiGateway::Resource') {
    const r = res[ref.Ref]?.Properties;
    parts.unshift(r.PathPart);
    ref = r.ParentId;
  }
  return `/${parts.join('/')}`;
}

beforeAll(() => {
  built = buildApp(
    {
      stage: 'srv',
      serving: { provisionedConcurrency: 2 },
      alarms: { predictionShift: 0.3, errorRate: 0.02 },
    },
    { nag: false, skipBundling: true },
  );
  stack = built.stack;
  serving = built.stack.platform.serving;
  resources = Template.fromStack(built.stack).toJSON().Resources as Resources;
  defaults = Template.fromStack(
    buildApp({ stage: 'srv-defaults' }, { nag: false, skipBundling: true }).stack,
  ).toJSON().Resources as Resources;
});

describe('the Serving construct', () => {
  it('creates the predict function pinned to the served model, with the native layer', () => {
    const fn = resources[idOf(serving.fn.fn)]?.Properties;
    expect(fn.MemorySize).toBe(1769);
    expect(fn.Layers).toHaveLength(1);
    expect(fn.Environment.Variables).toMatchObject({ MODEL_NAME: expect.any(String) });
    expect(fn.Environment.Variables.MODEL_VERSION).toBeUndefined();
  });

  it('grants the predict function reads only: the registry table, model objects, the feature registry and online table', () => {
    const statements = statementsOf(resources, idOf(serving.fn.fn.role as never));
    const actions = new Set(statements.flatMap(actionsOf));
    for (const a of actions) {
      expect(a, `${a} is not a read`).toMatch(
        /^(dynamodb:(GetItem|Query|BatchGetItem)|s3:GetObject|logs:(CreateLogStream|PutLogEvents)|xray:Put\w+)$/,
      );
    }
    const s3 = statements.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(JSON.stringify(s3?.Resource)).toContain('/registry/*');
    // No wildcard resource beyond X-Ray's, which has no resource-level permissions.
    for (const s of statements)
      if (s.Resource === '*') expect(actionsOf(s).every((a) => a.startsWith('xray:'))).toBe(true);
  });

  it('invokes through the live alias, with provisioned concurrency only when configured', () => {
    const alias = resources[idOf(serving.liveAlias)]?.Properties;
    expect(alias.Name).toBe('live');
    expect(alias.ProvisionedConcurrencyConfig).toEqual({ ProvisionedConcurrentExecutions: 2 });
    const plain = Object.values(defaults).find(
      (r) =>
        r.Type === 'AWS::Lambda::Alias' &&
        r.Properties.Name === 'live' &&
        JSON.stringify(r.Properties).includes('ServingPredict'),
    );
    expect(plain?.Properties.ProvisionedConcurrencyConfig).toBeUndefined();
  });

  it('serves every route through the alias (serving) or the deployment function, each with IAM authorization', () => {
    const methods = Object.values(resources).filter(
      (r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod !== 'OPTIONS',
    );
    const via = (targetId: string) =>
      methods
        .filter((m) => JSON.stringify(m.Properties.Integration?.Uri ?? '').includes(targetId))
        .map((m) => {
          expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
          return `${m.Properties.HttpMethod} ${pathOf(resources, m as never)}`;
        })
        .sort();
    expect(via(idOf(serving.liveAlias))).toEqual(servingRoutes.map((r) => `${r.method} ${r.path}`).sort());
    expect(via(idOf(serving.deployment.apiFunction))).toEqual(
      deploymentRoutes.map((r) => `${r.method} ${r.path}`).sort(),
    );
  });

  it('alarms per variant on error rate, p99 latency and prediction shift, with the configured thresholds', () => {
    const alarms = Object.values(resources).filter(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Namespace === 'ServerlessMlops/Serving',
    );
    const seen = alarms.map((a) => {
      const dims = Object.fromEntries(
        (a.Properties.Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
      );
      return `${dims.variant} ${a.Properties.MetricName} ${a.Properties.ExtendedStatistic ?? a.Properties.Statistic} > ${a.Properties.Threshold}`;
    });
    expect(seen.sort()).toEqual(
      [
        'blue PredictErrors Average > 0.02',
        'blue PredictLatency p99 > 500',
        'blue PredictionShift Average > 0.3',
        'green PredictErrors Average > 0.02',
        'green PredictLatency p99 > 500',
        'green PredictionShift Average > 0.3',
      ].sort(),
    );
    for (const a of alarms) {
      expect(a.Properties.TreatMissingData).toBe('notBreaching');
      expect(a.Properties.AlarmActions).toHaveLength(1);
    }
    expect(serving.deployment.alarms.blue).toHaveLength(3);
  });

  it('runs the canary as a state machine that may describe only its own alarms; the API and the severe action may stop only its executions', () => {
    const machine = resources[idOf(serving.deployment.stateMachine)];
    const definition = JSON.stringify(machine?.Properties.DefinitionString);
    for (const state of [
      'Publish pinned version',
      'Check readiness',
      'Shift traffic',
      'Bake',
      'Check alarms',
      'Decide',
      'Roll back on alarm',
      'Promote',
    ]) {
      expect(definition).toContain(state);
    }
    const smStatements = statementsOf(resources, idOf(serving.deployment.stateMachine.role as never));
    const describeGrant = smStatements.find((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'));
    const alarmIds = [...serving.deployment.alarms.blue, ...serving.deployment.alarms.green].map((a) =>
      idOf(a as never),
    );
    expect(describeGrant?.Resource as unknown[]).toHaveLength(alarmIds.length);
    for (const id of alarmIds) expect(JSON.stringify(describeGrant?.Resource)).toContain(id);

    const api = statementsOf(resources, idOf(serving.deployment.apiFunction.role as never));
    const stop = api.find((s) => actionsOf(s).includes('states:StopExecution'));
    expect(JSON.stringify(stop?.Resource)).toContain(':execution:');
    expect(JSON.stringify(stop?.Resource)).toContain(idOf(serving.deployment.stateMachine));

    // The severe alarm's rollback stops a running canary too: the same executions, nothing more.
    const severe = built.stack.platform.performance.rollbackFunction;
    const severeStop = statementsOf(resources, idOf(severe.role as never)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('states:')),
    );
    expect(severeStop.map(actionsOf)).toEqual([['states:StopExecution']]);
    expect(severeStop[0]?.Resource).toEqual(stop?.Resource);
    expect(resources[idOf(severe)]?.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({
      Ref: idOf(serving.deployment.stateMachine),
    });
  });
});
