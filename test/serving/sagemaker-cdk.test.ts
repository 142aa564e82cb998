import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import type { CfnTemplate } from '../../local/template';

// biome-ignore lint/suspicious/noExplicitAny: template fragments are asserted field by field
type Json = any;

function synth(
  config: Record<string, unknown>,
  nag = false,
): { template: CfnTemplate; violations: string[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-sm-cdk-'));
  try {
    const { app, stack } = buildApp({ stage: 'smcdk', ...config }, { nag, skipBundling: true, outdir });
    let template: CfnTemplate = { Resources: {} };
    try {
      template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
    } catch {
      // A failing validation throws after writing its report; the report is asserted below.
    }
    const violations: string[] = [];
    const file = join(outdir, 'validation-report.json');
    if (existsSync(file)) {
      for (const plugin of JSON.parse(readFileSync(file, 'utf8')).pluginReports ?? [])
        for (const v of plugin.violations ?? [])
          if (v.severity === 'error')
            for (const c of v.violatingConstructs ?? []) violations.push(`${v.ruleName} ${c.constructPath}`);
    }
    return { template, violations };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const ofType = (t: CfnTemplate, type: string): [string, Json][] =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type) as [string, Json][];

describe("servingBackend 'sagemaker' in CDK", () => {
  const { template } = synth({
    servingBackend: 'sagemaker',
    serving: { sagemaker: { initialVersion: '3' } },
  });

  it('defines one Triton model, a KMS-encrypted config with blue at weight 1 and green at 0, and the endpoint', () => {
    const [[, model]] = ofType(template, 'AWS::SageMaker::Model') as [[string, Json]];
    expect(model.Properties.EnableNetworkIsolation).toBe(true);
    const c = model.Properties.PrimaryContainer;
    expect(JSON.stringify(c.Image)).toContain('sagemaker-tritonserver');
    expect(c.Environment).toMatchObject({
      SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: 'purchase-propensity',
      MLOPS_MODEL_VERSION: '3',
    });
    expect(c.ModelDataSource.S3DataSource).toMatchObject({ S3DataType: 'S3Prefix', CompressionType: 'None' });
    expect(JSON.stringify(c.ModelDataSource.S3DataSource.S3Uri)).toContain(
      '/serving/triton/purchase-propensity/3/',
    );

    const [[, config]] = ofType(template, 'AWS::SageMaker::EndpointConfig') as [[string, Json]];
    expect(config.Properties.KmsKeyId).toBeDefined();
    expect(
      config.Properties.ProductionVariants.map((v: Json) => [v.VariantName, v.InitialVariantWeight]),
    ).toEqual([
      ['blue', 1],
      ['green', 0],
    ]);
    const [[, endpoint]] = ofType(template, 'AWS::SageMaker::Endpoint') as [[string, Json]];
    expect(endpoint.Properties.EndpointName).toBe('mlops-smcdk-serving');
  });

  it("alarms on each variant's 5XX errors and ModelLatency p99 (in microseconds)", () => {
    const alarms = ofType(template, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((p) => p.Namespace === 'AWS/SageMaker');
    const seen = alarms.map((p) => [
      p.MetricName,
      p.Dimensions.find((d: Json) => d.Name === 'VariantName').Value,
      p.Statistic ?? p.ExtendedStatistic,
      p.Threshold,
    ]);
    expect(seen.sort()).toEqual(
      [
        ['Invocation5XXErrors', 'blue', 'Sum', 0],
        ['Invocation5XXErrors', 'green', 'Sum', 0],
        ['ModelLatency', 'blue', 'p99', 500_000],
        ['ModelLatency', 'green', 'p99', 500_000],
      ].sort(),
    );
  });

  it("lets the endpoint's role read the served model's Triton repositories only", () => {
    const role = ofType(template, 'AWS::IAM::Role').find(([id]) => id.includes('SageMakerExecutionRole'));
    expect(role).toBeDefined();
    const policies = ofType(template, 'AWS::IAM::Policy').filter(([, p]) =>
      p.Properties.Roles.some((r: Json) => r.Ref === role?.[0]),
    );
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const s3 = statements.filter((s: Json) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    expect(JSON.stringify(s3)).toContain('/serving/triton/purchase-propensity/*');
    expect(JSON.stringify(s3)).not.toMatch(/Arn"\]\},"\/\*"/);
    expect(s3.flatMap((s: Json) => [s.Action].flat()).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });

  it('points the predict function and the deployment steps at the endpoint, with both sets of alarms', () => {
    const fns = ofType(template, 'AWS::Lambda::Function').map(
      ([, f]) => f.Properties.Environment?.Variables ?? {},
    );
    const front = fns.filter((v) => v.SAGEMAKER_ENDPOINT && v.MODEL_NAME && !v.ALARMS_BLUE);
    expect(front.length).toBeGreaterThan(0);
    const steps = fns.filter((v) => v.SAGEMAKER_ENDPOINT && v.ALARMS_BLUE);
    expect(steps.length).toBeGreaterThanOrEqual(6);
    for (const v of steps)
      expect(JSON.stringify(v.ALARMS_BLUE)).toMatch(/BlueErrorRate[\s\S]*BlueInvocation5XX/);
  });

  it('is cdk-nag clean', () => {
    const serving = synth({ servingBackend: 'sagemaker' }, true).violations.filter((v) =>
      v.includes('/Serving/'),
    );
    expect(serving).toEqual([]);
  });

  it('leaves the Lambda backend (the default) without SageMaker resources', () => {
    const lambda = synth({}).template;
    expect(
      Object.values(lambda.Resources).filter((r) => r.Type.startsWith('AWS::SageMaker::Endpoint')),
    ).toEqual([]);
  });

  it('refuses a malformed setting at synth time, naming it', () => {
    expect(() =>
      buildApp({ servingBackend: 'sagemaker', serving: { sagemaker: { initialVersion: 'latest' } } }),
    ).toThrow(/serving\.sagemaker\.initialVersion must be a registered version number/);
  });
});
