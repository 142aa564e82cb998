import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';

// biome-ignore lint/suspicious/noExplicitAny: ASL is asserted structurally
type Asl = { StartAt: string; States: Record<string, any> };

/** The training pipeline's definition with CloudFormation tokens flattened to text. */
function definitionOf(template: Template): Asl {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [pipeline] = Object.entries(machines).filter(([id]) => id.includes('TrainingPipeline'));
  expect(pipeline).toBeDefined();
  const parts = pipeline![1].Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) =>
      typeof p === 'string' ? p : `arn:aws:lambda:::function:${JSON.stringify(p).replace(/\W/g, '')}`,
    )
    .join('');
  return JSON.parse(text) as Asl;
}

function path(asl: Asl, from: string, stopAt: string): string[] {
  const order: string[] = [];
  let cur: string | undefined = from;
  while (cur && cur !== stopAt && order.length < 50) {
    order.push(cur);
    cur = asl.States[cur].Next;
  }
  return order;
}

let template: Template;
let asl: Asl;
beforeAll(() => {
  const { stack } = buildApp(
    { stage: 'pipe', pipelineSchedule: 'cron(15 4 ? * SUN *)' },
    { nag: false, skipBundling: true },
  );
  template = Template.fromStack(stack);
  asl = definitionOf(template);
});

describe('the synthesized training pipeline', () => {
  it('runs its states in order up to the verdict', () => {
    expect(path(asl, asl.StartAt, 'Promote?')).toEqual([
      'Start Run',
      'Validate Data',
      'Build Training Set',
      'Plan Trials',
      'Search Trials',
      'Train Candidate',
      'Evaluate Candidate',
    ]);
    expect(asl.States['Evaluate Candidate'].Next).toBe('Promote?');
  });

  it('branches on the promotion verdict: register in Staging, or record the rejection', () => {
    const choice = asl.States['Promote?'];
    expect(choice.Type).toBe('Choice');
    expect(choice.Choices).toEqual([
      { Variable: '$.evaluation.promote', BooleanEquals: true, Next: 'Register Candidate' },
    ]);
    expect(choice.Default).toBe('Record Rejection');
    expect(asl.States[asl.States['Register Candidate'].Next].Type).toBe('Succeed');
    expect(asl.States[asl.States['Record Rejection'].Next].Type).toBe('Succeed');
  });

  it('retries, times out and catches every task, into a failure path that notifies and fails', () => {
    const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task' || s.Type === 'Map');
    expect(tasks.length).toBeGreaterThanOrEqual(10);
    const notices = ['Notify Failure', 'Notify Failure Run Not Marked'];
    for (const [name, s] of tasks) {
      if (notices.includes(name)) continue;
      const retried = (s.Retry ?? []).flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
      if (s.Type === 'Task') {
        expect(retried, name).toContain('Lambda.TooManyRequestsException');
        expect(retried, name).toContain('Lambda.ServiceException');
        expect(s.TimeoutSeconds, name).toBeGreaterThan(0);
      }
      expect(s.Catch?.[0]?.Next, name).toBe(
        name === 'Mark Failed' ? 'Notify Failure Run Not Marked' : 'Mark Failed',
      );
    }
    expect(asl.States['Mark Failed'].Next).toBe('Notify Failure');
    for (const n of notices) {
      expect(asl.States[n].Resource, n).toMatch(/sns:publish/);
      expect(asl.States[asl.States[n].Next].Type, n).toBe('Fail');
      expect(asl.States[asl.States[n].Catch[0].Next].Type, n).toBe('Fail');
    }
    // The notice sent when Mark Failed fails reads nothing Mark Failed would have written.
    expect(JSON.stringify(asl.States['Notify Failure Run Not Marked'].Parameters)).not.toContain('$.failure');
    // The trial inside the Map retries and times out too.
    const trial = asl.States['Search Trials'].ItemProcessor.States['Run Trial'];
    expect(trial.Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals)).toContain(
      'Lambda.TooManyRequestsException',
    );
    expect(trial.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('runs trials in parallel with a Map, and a Distributed Map when many trials are configured', () => {
    expect(asl.States['Search Trials'].Type).toBe('Map');
    expect(asl.States['Search Trials'].ItemsPath).toBe('$.plan.trials');
    expect(asl.States['Search Trials'].ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    const { stack } = buildApp(
      { stage: 'many', pipeline: { maxTrials: 200, distributedMapFrom: 40 } },
      { nag: false, skipBundling: true },
    );
    const many = definitionOf(Template.fromStack(stack));
    expect(many.States['Search Trials'].ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    // The plan and the results stay in S3: the Map reads one and writes the other.
    expect(many.States['Search Trials'].ItemReader.Parameters['Key.$']).toBe('$.plan.trialsKey');
    expect(many.States['Search Trials'].ResultWriter.Parameters.Prefix).toBe('trial-results');
    expect(many.States['Plan Trials'].Parameters.trialsIn).toBe('object');
  });

  it('gives each task only the parts of the state it reads', () => {
    const given = (name: string) => Object.keys(asl.States[name].Parameters.state ?? {}).sort();
    expect(given('Validate Data')).toEqual(['input.$', 'run.$']);
    expect(given('Record Rejection')).toEqual(['evaluation.$', 'run.$']);
    expect(given('Train Candidate')).toEqual([
      'input.$',
      'plan.$',
      'run.$',
      'trainingSet.$',
      'trialResults.$',
    ]);
    // Only the first step (the raw input) and the failure path see the state as it is.
    const whole = Object.entries(asl.States)
      .filter(([, s]) => s.Parameters?.['state.$'] === '$')
      .map(([n]) => n);
    expect(whole.sort()).toEqual(['Mark Failed', 'Start Run']);
  });

  it('refuses at synth an inline Map too large for the state, naming the setting to change', () => {
    expect(() =>
      buildApp(
        { stage: 'wide', pipeline: { maxTrials: 500, distributedMapFrom: 1000 } },
        { nag: false, skipBundling: true },
      ),
    ).toThrow(/pipeline\.distributedMapFrom/);
  });

  it('logs every execution event and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
    });
  });

  it('starts on the configured schedule and on drift, saying why in its input', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const schedule = rules.find((r) => r.Properties.ScheduleExpression === 'cron(15 4 ? * SUN *)');
    expect(schedule).toBeDefined();
    expect(JSON.parse(schedule!.Properties.Targets[0].Input)).toMatchObject({ trigger: 'schedule' });
    const drift = rules.find((r) => r.Properties.EventPattern?.source?.[0] === 'mlops.monitoring');
    expect(drift!.Properties.EventPattern['detail-type']).toEqual(['DriftDetected']);
    expect(JSON.stringify(drift!.Properties.Targets[0].InputTransformer)).toContain(
      '\\"trigger\\":\\"drift\\"',
    );
  });

  it('rejects an invalid cron at synth time, naming the field', () => {
    expect(() => resolvePlatformConfig({ pipelineSchedule: 'cron(0 25 * * ? *)' })).toThrow(
      /pipelineSchedule: .*hours field: 25/,
    );
    expect(() => resolvePlatformConfig({ pipelineSchedule: 'cron(0 3 * * * *)' })).toThrow(
      /exactly one of day-of-month and day-of-week/,
    );
  });
});
