import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { resolvePlatformConfig } from '../../lib/config';
import { hasInstanceStorage } from '../../lib/pipeline/sagemaker-training';

// biome-ignore lint/suspicious/noExplicitAny: ASL and CloudFormation are asserted structurally
type Any = any;
type Asl = { StartAt: string; States: Record<string, Any> };

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/propensity-trainer:2026.07';
const SIGNATURE = {
  tensorInput: { name: 'float_input', elementType: 'float' },
  inputs: [
    { name: 'tenure', type: 'float' },
    { name: 'spend', type: 'float' },
  ],
  outputs: [{ name: 'probabilities', meaning: 'probability' }],
};
const sagemaker = (extra: Record<string, unknown> = {}) => ({
  stage: 'sm',
  pipeline: { trainer: { kind: 'sagemaker', image: IMAGE, signature: SIGNATURE, ...extra } },
});

/** The training pipeline's definition with CloudFormation tokens flattened to `<LogicalId...>`. */
function definitionOf(template: Template): Asl {
  const [pipeline] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(
    ([id]) => id.includes('TrainingPipeline'),
  );
  const parts = pipeline![1].Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).replace(/\W/g, '')}>`))
    .join('');
  return JSON.parse(text) as Asl;
}

function order(asl: Asl, stopAt: string): string[] {
  const states: string[] = [];
  for (let cur: string | undefined = asl.StartAt; cur && cur !== stopAt && states.length < 50; ) {
    states.push(cur);
    cur = asl.States[cur].Next;
  }
  return states;
}

/** Every statement of the IAM policies attached to roles whose logical id contains `role`. */
function statementsOf(template: Template, role: string): Any[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

const text = (v: unknown) => JSON.stringify(v);

let template: Template;
let asl: Asl;
beforeAll(() => {
  const { stack } = buildApp(sagemaker({ maxRuntimeSeconds: 7200 }), { nag: false, skipBundling: true });
  template = Template.fromStack(stack);
  asl = definitionOf(template);
});

describe('the pipeline with a SageMaker trainer', () => {
  it('prepares the job, runs it to completion, then imports its model before the unchanged evaluation', () => {
    expect(order(asl, 'Promote?')).toEqual([
      'Start Run',
      'Validate Data',
      'Build Training Set',
      'Plan Trials',
      'Prepare Training Job',
      'Train Candidate',
      'Import Candidate',
      'Evaluate Candidate',
    ]);
    expect(asl.States['Plan Trials'].Parameters.planning).toBe('configured');
    expect(JSON.parse(asl.States['Import Candidate'].Parameters.signature)).toEqual(SIGNATURE);
    expect(asl.States['Import Candidate'].ResultPath).toBe('$.candidate');
    // The built-in training function is not deployed.
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).join()).not.toMatch(/TrainCandidate/);
  });

  it('uses the .sync SageMaker integration with the job shaped from the state', () => {
    const train = asl.States['Train Candidate'];
    expect(train.Resource).toBe('arn:<RefAWSPartition>:states:::sagemaker:createTrainingJob.sync');
    const p = train.Parameters;
    expect(p['TrainingJobName.$']).toBe('$.trainingJob.jobName');
    expect(p['HyperParameters.$']).toBe('$.trainingJob.hyperparameters');
    expect(p.AlgorithmSpecification).toEqual({ TrainingInputMode: 'File', TrainingImage: IMAGE });
    expect(p.InputDataConfig).toEqual([
      expect.objectContaining({
        ChannelName: 'train',
        DataSource: {
          S3DataSource: {
            'S3Uri.$': '$.trainingJob.trainUri',
            S3DataType: 'S3Prefix',
            S3DataDistributionType: 'FullyReplicated',
          },
        },
      }),
    ]);
    expect(p.OutputDataConfig['S3OutputPath.$']).toBe('$.trainingJob.outputUri');
    expect(p.OutputDataConfig.KmsKeyId).toMatch(/SageMakerKey.*Arn/);
    expect(p.ResourceConfig).toMatchObject({
      InstanceCount: 1,
      InstanceType: 'ml.m5.xlarge',
      VolumeSizeInGB: 30,
    });
    expect(p.ResourceConfig.VolumeKmsKeyId).toMatch(/SageMakerKey.*Arn/);
    expect(p.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 7200 });
    expect(p.EnableNetworkIsolation).toBe(true);
    expect(train.ResultSelector['modelArtifacts.$']).toBe('$.ModelArtifacts.S3ModelArtifacts');
  });

  it('turns network isolation off only when the configuration says so', () => {
    const { stack } = buildApp(sagemaker({ networkIsolation: false }), { nag: false, skipBundling: true });
    const open = definitionOf(Template.fromStack(stack)).States['Train Candidate'].Parameters;
    expect(open.EnableNetworkIsolation).toBe(false);
  });

  it('retries throttling, times out after the job runtime plus an hour, and catches into the failure path', () => {
    const train = asl.States['Train Candidate'];
    const retried = train.Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
    expect(retried).toContain('SageMaker.AmazonSageMakerException');
    expect(retried).not.toContain('States.Timeout');
    expect(train.Retry[0]).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
    expect(train.TimeoutSeconds).toBe(7200 + 3600);
    expect(train.Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Mark Failed' });
    for (const name of ['Prepare Training Job', 'Import Candidate']) {
      expect(asl.States[name].Catch[0].Next, name).toBe('Mark Failed');
      expect(asl.States[name].TimeoutSeconds, name).toBeGreaterThan(0);
    }
    // The execution outlives the longest job the configuration allows.
    expect((asl as Any).TimeoutSeconds).toBe(5 * 3600 + 7200 + 3600);
  });

  it("gives the job's role the training rows to read, the models prefix to write, its one image and its logs", () => {
    const job = statementsOf(template, 'SageMakerJobRole');
    const s3 = job.filter((s) => text(s.Action).includes('s3:'));
    expect(s3.map((s) => text(s.Resource)).join('\n')).not.toMatch(/"\*"/);
    const writes = s3.filter((s) => text(s.Action).includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(text(writes[0].Resource)).toMatch(/\/models\/\*/);
    expect(text(writes[0].Resource)).not.toMatch(/training-sets/);
    const reads = s3.find((s) => text(s.Action).includes('s3:GetObject'));
    expect(text(reads.Resource)).toMatch(/\/training-sets\/\*/);
    const pull = job.find((s) => text(s.Action).includes('ecr:BatchGetImage'));
    expect(text(pull.Resource)).toContain(':ecr:eu-west-1:123456789012:repository/team/propensity-trainer');
    const logs = job.find((s) => text(s.Action).includes('logs:PutLogEvents'));
    expect(text(logs.Resource)).toContain('log-group:/aws/sagemaker/TrainingJobs:*');
    const metrics = job.find((s) => text(s.Action).includes('cloudwatch:PutMetricData'));
    expect(metrics.Condition).toEqual({ StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } });
    const [role] = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) =>
      id.includes('SageMakerJobRole'),
    );
    const trust = role![1].Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'sagemaker.amazonaws.com' });
    expect(Object.keys(trust.Condition).sort()).toEqual(['ArnLike', 'StringEquals']);
    // The import step may decrypt the job's output and read models/, nothing more of S3 than its prefixes.
    const importer = statementsOf(template, 'ImportCandidate');
    expect(importer.find((s) => s.Action === 'kms:Decrypt')).toBeDefined();
    expect(text(importer.filter((s) => text(s.Action).includes('s3:')).map((s) => s.Resource))).toMatch(
      /models\/\*/,
    );
  });

  it('keeps the built-in trials as a tuning proxy only when configured', () => {
    const { stack } = buildApp(sagemaker({ tuneWithBuiltin: true, instanceType: 'ml.g5.2xlarge' }), {
      nag: false,
      skipBundling: true,
    });
    const tuned = definitionOf(Template.fromStack(stack));
    expect(order(tuned, 'Train Candidate').slice(-3)).toEqual([
      'Plan Trials',
      'Search Trials',
      'Prepare Training Job',
    ]);
    expect(tuned.States['Plan Trials'].Parameters.planning).toBe('search');
    expect(asl.States['Search Trials']).toBeUndefined();
    // g5 has NVMe instance storage: SageMaker refuses a volume key there.
    expect(tuned.States['Train Candidate'].Parameters.ResourceConfig.VolumeKmsKeyId).toBeUndefined();
    expect(tuned.States['Train Candidate'].Parameters.ResourceConfig.InstanceType).toBe('ml.g5.2xlarge');
  });

  it('tells instance families with instance storage from EBS-only ones', () => {
    expect(
      ['ml.m5d.xlarge', 'ml.g4dn.xlarge', 'ml.p4d.24xlarge', 'ml.g5.xlarge'].map(hasInstanceStorage),
    ).toEqual([true, true, true, true]);
    expect(
      ['ml.m5.xlarge', 'ml.c5.2xlarge', 'ml.p3.2xlarge', 'ml.g4.xlarge'].map(hasInstanceStorage),
    ).toEqual([false, false, false, false]);
  });
});

describe('a SageMaker trainer configuration', () => {
  it('fails synth without an image, or with one that is not in ECR, naming the field', () => {
    const { image: _, ...noImage } = sagemaker().pipeline.trainer;
    expect(() => buildApp({ pipeline: { trainer: noImage } }, { nag: false, skipBundling: true })).toThrow(
      /pipeline\.trainer\.image: image is required/,
    );
    expect(() => resolvePlatformConfig(sagemaker({ image: 'docker.io/library/python:3.12' }))).toThrow(
      /pipeline\.trainer\.image: image must be an ECR image URI/,
    );
  });

  it('fails synth with an invalid or missing signature, naming the field', () => {
    expect(() =>
      resolvePlatformConfig(
        sagemaker({
          signature: { inputs: [{ name: 'plan', type: 'categorical' }], outputs: SIGNATURE.outputs },
        }),
      ),
    ).toThrow(
      /pipeline\.trainer\.signature\.inputs\.0\.categories: categorical input 'plan' must list its categories/,
    );
    expect(() => resolvePlatformConfig(sagemaker({ signature: { inputs: [], outputs: [] } }))).toThrow(
      /pipeline\.trainer\.signature\.inputs: .*>=1/,
    );
    expect(() => resolvePlatformConfig(sagemaker({ signature: undefined }))).toThrow(
      /pipeline\.trainer\.signature: signature is required/,
    );
    expect(() => resolvePlatformConfig(sagemaker({ instanceCount: 2 }))).toThrow(
      /pipeline\.trainer\.instanceCount: instanceCount must be 1/,
    );
  });

  it('defaults to the built-in trainers', () => {
    expect(resolvePlatformConfig({}).pipeline.trainer).toEqual({ kind: 'builtin' });
  });
});

describe('cdk-nag with a SageMaker trainer', () => {
  it('reports no unsuppressed violation', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'mlops-nag-sm-'));
    try {
      const { app } = buildApp(sagemaker(), { nag: true, skipBundling: true, outdir });
      try {
        app.synth();
      } catch {
        // A failing validation throws after writing its report; the report is what we assert on.
      }
      const file = join(outdir, 'validation-report.json');
      const report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { pluginReports: [] };
      const violations: string[] = [];
      for (const plugin of report.pluginReports ?? [])
        for (const v of plugin.violations ?? [])
          if (v.severity === 'error')
            for (const c of v.violatingConstructs ?? []) violations.push(`${v.ruleName} ${c.constructPath}`);
      expect(violations).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
