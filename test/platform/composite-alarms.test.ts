import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateAlarmRule, LocalAlarms, parseAlarmRule, ruleAlarms } from '../../local/alarms';
import { type CfnTemplate, readTemplate } from '../../local/template';

type State = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
const states = (m: Record<string, State>) => (name: string) => m[name] ?? 'INSUFFICIENT_DATA';

describe('AlarmRule expressions', () => {
  it('bind NOT tighter than AND and AND tighter than OR, with parentheses overriding', () => {
    const rule = parseAlarmRule('ALARM(a) OR ALARM(b) AND NOT ALARM(c)');
    expect(evaluateAlarmRule(rule, states({ a: 'OK', b: 'ALARM', c: 'OK' }))).toBe(true);
    expect(evaluateAlarmRule(rule, states({ a: 'OK', b: 'ALARM', c: 'ALARM' }))).toBe(false);
    expect(evaluateAlarmRule(rule, states({ a: 'ALARM', b: 'OK', c: 'ALARM' }))).toBe(true);
    const grouped = parseAlarmRule('(ALARM(a) OR ALARM(b)) AND NOT ALARM(c)');
    expect(evaluateAlarmRule(grouped, states({ a: 'ALARM', b: 'OK', c: 'ALARM' }))).toBe(false);
  });

  it('test OK and INSUFFICIENT_DATA states, TRUE and FALSE, and any case of the operators', () => {
    expect(evaluateAlarmRule(parseAlarmRule('OK(a) and insufficient_data(b)'), states({ a: 'OK' }))).toBe(
      true,
    );
    expect(evaluateAlarmRule(parseAlarmRule('OK(a) AND INSUFFICIENT_DATA(b)'), states({ a: 'ALARM' }))).toBe(
      false,
    );
    expect(evaluateAlarmRule(parseAlarmRule('TRUE AND NOT FALSE'), states({}))).toBe(true);
    expect(evaluateAlarmRule(parseAlarmRule('NOT NOT ALARM(a)'), states({ a: 'ALARM' }))).toBe(true);
  });

  it('name alarms by name or ARN, quoted or not', () => {
    const rule = parseAlarmRule(
      `ALARM("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:High errors") OR ALARM('b') OR OK(arn:aws:cloudwatch:us-east-1:1:alarm:c)`,
    );
    expect(ruleAlarms(rule)).toEqual(['High errors', 'b', 'c']);
  });

  it('refuse malformed rules with the position of the mistake', () => {
    expect(() => parseAlarmRule('ALARM(a) XOR ALARM(b)')).toThrow(/unexpected text at position 9/);
    expect(() => parseAlarmRule('ALARM(a) AND')).toThrow(/expected ALARM/);
    expect(() => parseAlarmRule('(ALARM(a)')).toThrow(/expected '\)'/);
    expect(() => parseAlarmRule('BROKEN(a)')).toThrow(/expected ALARM/);
    expect(() => parseAlarmRule('ALARM("a)')).toThrow(/unterminated quote/);
  });
});

/**
 * A stack as CDK synthesizes it: two metric alarms, a composite over them whose rule CDK
 * writes with the alarms' ARNs (`Fn::GetAtt`), a topic and a Lambda action.
 */
let synthesized: CfnTemplate | undefined;
function template(): CfnTemplate {
  synthesized ??= synthesize();
  return structuredClone(synthesized);
}

function synthesize(): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'CompositeTest');
  const metric = (name: string) =>
    new cloudwatch.Metric({
      namespace: 'Test',
      metricName: name,
      period: Duration.seconds(60),
      statistic: 'Maximum',
    });
  const errors = new cloudwatch.Alarm(stack, 'Errors', {
    metric: metric('Errors'),
    threshold: 1,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const drift = new cloudwatch.Alarm(stack, 'Drift', {
    alarmName: 'input-drift',
    metric: metric('Drift'),
    threshold: 0.2,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const fn = new lambda.Function(stack, 'Action', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata('mlops:entry', 'test/none.ts');
  const severe = new cloudwatch.CompositeAlarm(stack, 'Severe', {
    alarmRule: cloudwatch.AlarmRule.allOf(
      cloudwatch.AlarmRule.fromAlarm(errors, cloudwatch.AlarmState.ALARM),
      cloudwatch.AlarmRule.not(cloudwatch.AlarmRule.fromAlarm(drift, cloudwatch.AlarmState.ALARM)),
    ),
  });
  severe.addAlarmAction(new actions.LambdaAction(fn));
  const topic = new sns.Topic(stack, 'Topic');
  severe.addOkAction({ bind: () => ({ alarmActionArn: topic.topicArn }) });
  return app.synth().getStackByName('CompositeTest').template as CfnTemplate;
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const emf = (name: string, value: number, t: number) =>
  JSON.stringify({
    _aws: {
      Timestamp: t,
      CloudWatchMetrics: [{ Namespace: 'Test', Dimensions: [[]], Metrics: [{ Name: name }] }],
    },
    [name]: value,
  });

describe('composite alarms run locally from the template', () => {
  it('follow their rule over the metric alarms and invoke their Lambda action with the alarm event', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlops-composite-'));
    const plan = readTemplate(template());
    const fnId = [...plan.functions.keys()][0] as string;
    const invoked: { name: string; qualifier: string | undefined; event: unknown }[] = [];
    const alarms = new LocalAlarms(plan, {
      dataDir: dir,
      invokeLambda: async (name, qualifier, event) => {
        invoked.push({ name, qualifier, event });
        return { ok: true };
      },
    });
    expect(alarms.composites.map((c) => c.ruleText)).toEqual([
      `(ALARM("arn:aws:cloudwatch:us-east-1:000000000000:alarm:${alarms.alarms.find((a) => a.metricName === 'Errors')?.name}") AND (NOT (ALARM("arn:aws:cloudwatch:us-east-1:000000000000:alarm:input-drift"))))`,
    ]);
    const severe = alarms.composites[0]?.name as string;
    const errorsAlarm = alarms.alarms.find((a) => a.metricName === 'Errors')?.name as string;
    // The last step lands on the present, where describe() evaluates.
    const base = Date.now() - 63_000;

    // Nothing breaches: both children OK, the composite OK (and its OK action is a topic).
    alarms.evaluate(base);
    expect(alarms.stateOf(severe)?.state).toBe('OK');
    expect(invoked).toEqual([]);

    // Errors with drifted inputs: the rule is false (NOT ALARM(input-drift)).
    alarms.ingest(emf('Errors', 5, base + 1000));
    alarms.ingest(emf('Drift', 0.5, base + 1000));
    alarms.evaluate(base + 2000);
    expect(alarms.stateOf(errorsAlarm)?.state).toBe('ALARM');
    expect(alarms.stateOf('input-drift')?.state).toBe('ALARM');
    expect(alarms.stateOf(severe)?.state).toBe('OK');
    expect(invoked).toEqual([]);

    // Errors alone, a period later: the composite goes to ALARM and its Lambda action runs.
    alarms.ingest(emf('Errors', 3, base + 62_000));
    alarms.evaluate(base + 63_000);
    const described = await alarms.describe({ AlarmNames: [severe], AlarmTypes: ['CompositeAlarm'] });
    expect(described.CompositeAlarms[0]).toMatchObject({ StateValue: 'ALARM' });
    expect(described.CompositeAlarms[0]?.StateReason).toMatch(
      /AlarmRule true: .*Errors.* is ALARM \(Threshold Crossed.*input-drift is OK/,
    );
    await new Promise((r) => setImmediate(r));
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      name: fnId,
      qualifier: undefined,
      event: {
        source: 'aws.cloudwatch',
        alarmArn: `arn:aws:cloudwatch:us-east-1:000000000000:alarm:${severe}`,
        alarmData: {
          alarmName: severe,
          state: { value: 'ALARM' },
          previousState: { value: 'OK' },
          configuration: { alarmRule: expect.stringContaining('input-drift') },
        },
      },
    });
    // The state change reaches the local bus as EventBridge's event.
    const events = readFileSync(join(dir, 'events', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.detail.alarmName === severe).map((e) => e.detail.state.value)).toEqual([
      'OK',
      'ALARM',
    ]);
    // DescribeAlarms answers metric alarms only unless composites are asked for, as the API does.
    expect((await alarms.describe({ AlarmNames: [severe] })).CompositeAlarms).toEqual([]);
  });

  it('refuse a template whose rule names an alarm it does not define', () => {
    const t = template();
    const id = Object.keys(t.Resources).find(
      (k) => t.Resources[k]?.Type === 'AWS::CloudWatch::CompositeAlarm',
    ) as string;
    (t.Resources[id] as { Properties: Record<string, unknown> }).Properties.AlarmRule = 'ALARM(nowhere)';
    expect(() => new LocalAlarms(readTemplate(t), { dataDir: tmpdir() })).toThrow(
      /unknown alarm\(s\) nowhere/,
    );
  });
});
