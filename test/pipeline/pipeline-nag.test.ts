import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';

/** cdk-nag's error-level findings for a configuration, as `rule construct-path`. */
function nagViolations(config: unknown, env?: { account: string; region: string }): string[] {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-pipeline-nag-'));
  try {
    const { app } = buildApp(config, { nag: true, skipBundling: true, outdir, env });
    try {
      app.synth();
    } catch {
      // A failing validation throws after writing its report; the report is what we assert on.
    }
    const file = join(outdir, 'validation-report.json');
    if (!existsSync(file)) return [];
    const report = JSON.parse(readFileSync(file, 'utf8'));
    const found: string[] = [];
    for (const plugin of report.pluginReports ?? []) {
      for (const v of plugin.violations ?? []) {
        if (v.severity !== 'error') continue;
        for (const c of v.violatingConstructs ?? []) found.push(`${v.ruleName} ${c.constructPath}`);
      }
    }
    return found;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const SAGEMAKER = {
  kind: 'sagemaker',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1',
  signature: {
    tensorInput: { name: 'float_input', elementType: 'float' },
    inputs: [{ name: 'tenure', type: 'float' }],
    outputs: [{ name: 'probabilities', meaning: 'probability' }],
  },
};
const BOUND = { account: '123456789012', region: 'eu-west-1' };

// Each pipeline shape, with cdk-nag on, both env-agnostic and bound to an account and region
// (cdk-nag names pseudo parameters as <AWS::Region> in the first and literally in the second).
describe.each([
  ['env-agnostic', undefined],
  ['bound to eu-west-1', BOUND],
])('a pipeline synthesized %s passes cdk-nag', { timeout: 300_000 }, (_, env) => {
  it('with a Distributed Map (the largest documented maxTrials)', () => {
    expect(nagViolations({ stage: 'nag', pipeline: { maxTrials: 10_000 } }, env)).toEqual([]);
  });

  it('with a SageMaker trainer tuned by a Distributed Map of built-in trials', () => {
    const config = {
      stage: 'nag',
      pipeline: { maxTrials: 40, trainer: { ...SAGEMAKER, tuneWithBuiltin: true } },
    };
    expect(nagViolations(config, env)).toEqual([]);
  });

  it('with a SageMaker trainer alone', () => {
    expect(nagViolations({ stage: 'nag', pipeline: { trainer: SAGEMAKER } }, env)).toEqual([]);
  });
});
