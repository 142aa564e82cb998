import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import type { PlatformConfigInput } from '../../lib/config';

/**
 * Every documented option of lib/config.ts, each value in at least one row: both trainers,
 * both Map kinds (inline below `distributedMapFrom`, Distributed from it on), both serving
 * backends, data kept or not, alerts mailed or not. Each row is synthesized once, bound to
 * an account and region as `cdk deploy` does, with cdk-nag's AwsSolutions checks on; then
 * cfn-lint reads all the templates in one run.
 */
const SAGEMAKER_TRAINER = {
  kind: 'sagemaker',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1',
  signature: {
    tensorInput: { name: 'float_input', elementType: 'float' },
    inputs: [{ name: 'tenure', type: 'float' }],
    outputs: [{ name: 'probabilities', meaning: 'probability' }],
  },
} as const;

const MATRIX: [string, PlatformConfigInput][] = [
  ['the defaults (built-in trainer, inline Map, Lambda serving, data kept)', { stage: 'm-default' }],
  [
    'a built-in trainer with a Distributed Map, SageMaker serving, data not kept, alerts mailed',
    {
      stage: 'm-distributed',
      pipeline: { maxTrials: 40, strategy: 'grid', algorithm: 'logistic' },
      servingBackend: 'sagemaker',
      retainData: false,
      alerts: { email: 'oncall@example.com' },
    },
  ],
  [
    'a SageMaker trainer tuned by built-in trials in a Distributed Map, data not kept',
    {
      stage: 'm-sm-tuned',
      pipeline: { maxTrials: 500, trainer: { ...SAGEMAKER_TRAINER, tuneWithBuiltin: true } },
      retainData: false,
      logRetentionDays: 7,
    },
  ],
  [
    'a SageMaker trainer alone with network access, SageMaker serving, alerts mailed',
    {
      stage: 'm-sm-alone',
      pipeline: { trainer: { ...SAGEMAKER_TRAINER, networkIsolation: false, instanceType: 'ml.c5.2xlarge' } },
      servingBackend: 'sagemaker',
      alerts: { email: 'ml-team@example.com' },
      pipelineSchedule: 'rate(1 day)',
    },
  ],
];

const ENV = { account: '123456789012', region: 'eu-west-1' };
/** cfn-lint is a Python tool: when a machine lacks it, its step is skipped and says so. */
const CFN_LINT = spawnSync('cfn-lint', ['--version']).status === 0;

interface Synthesized {
  readonly template: string;
  readonly nag: string[];
  readonly resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

let work: string;
const synthesized = new Map<string, Synthesized>();
let lint = new Map<string, string[]>();

/** Synthesizes one configuration with cdk-nag on; returns its template and error-level findings. */
function synth(config: PlatformConfigInput, outdir: string): Synthesized {
  const { app, stack } = buildApp(config, { nag: true, skipBundling: true, outdir, env: ENV });
  try {
    app.synth();
  } catch {
    // A failing validation throws after writing its report; the report is what we assert on.
  }
  const nag: string[] = [];
  const reportFile = join(outdir, 'validation-report.json');
  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    for (const plugin of report.pluginReports ?? []) {
      for (const v of plugin.violations ?? []) {
        if (v.severity !== 'error') continue;
        for (const c of v.violatingConstructs ?? []) nag.push(`${v.ruleName} ${c.constructPath}`);
      }
    }
  }
  const template = join(outdir, `${stack.stackName}.template.json`);
  const resources = existsSync(template) ? JSON.parse(readFileSync(template, 'utf8')).Resources : {};
  return { template, nag, resources };
}

/** cfn-lint's findings per template, from one run over all of them. */
function cfnLint(templates: string[]): Map<string, string[]> {
  // W3005: CDK gives every function and state machine a DependsOn on its role beside the
  // GetAtt of it; redundant, harmless, and not ours to change.
  const args = ['--format', 'json', '--ignore-checks', 'W3005', '--', ...templates];
  const run = spawnSync('cfn-lint', args, { encoding: 'utf8' });
  if (run.error) throw run.error;
  const findings = new Map<string, string[]>(templates.map((t) => [t, []]));
  const matches = JSON.parse(run.stdout || '[]') as {
    Filename: string;
    Level: string;
    Rule: { Id: string };
    Message: string;
    Location: { Path?: (string | number)[] };
  }[];
  for (const m of matches) {
    const key = templates.find((t) => t.endsWith(m.Filename)) ?? m.Filename;
    findings.get(key)?.push(`${m.Level} ${m.Rule.Id} ${(m.Location.Path ?? []).join('/')}: ${m.Message}`);
  }
  return findings;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mlops-matrix-'));
  for (const [name, config] of MATRIX) {
    synthesized.set(name, synth(config, mkdtempSync(join(work, 'out-'))));
  }
  if (CFN_LINT) lint = cfnLint([...synthesized.values()].map((s) => s.template).filter((t) => existsSync(t)));
  else console.warn('config matrix: cfn-lint is not on PATH; the templates were not linted');
  // Four synths with cdk-nag and one cfn-lint run: two minutes on a loaded 2-core machine.
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(MATRIX)('the platform synthesized with %s', (name) => {
  it('writes a template', () => {
    expect(existsSync(synthesized.get(name)?.template ?? '')).toBe(true);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    expect(synthesized.get(name)?.nag).toEqual([]);
  });

  it.skipIf(!CFN_LINT)(`passes cfn-lint${CFN_LINT ? '' : ' (skipped: cfn-lint is not on PATH)'}`, () => {
    expect(lint.get(synthesized.get(name)?.template ?? '')).toEqual([]);
  });
});

describe('the configuration matrix', () => {
  it('covers both Map kinds, both trainers and both serving backends', () => {
    const modes = new Set<string>();
    const trainers = new Set<string>();
    for (const { resources } of synthesized.values()) {
      for (const r of Object.values(resources)) {
        if (r.Type === 'AWS::StepFunctions::StateMachine') {
          const body = JSON.stringify(r.Properties?.DefinitionString ?? '');
          if (body.includes('DISTRIBUTED')) modes.add('distributed');
          if (/\\"Type\\":\\"Map\\"/.test(body) && body.includes('INLINE')) modes.add('inline');
          if (body.includes('createTrainingJob')) trainers.add('sagemaker');
        }
      }
    }
    expect([...modes].sort()).toEqual(['distributed', 'inline']);
    expect(trainers.has('sagemaker')).toBe(true);
    expect(new Set(MATRIX.map(([, c]) => c.servingBackend ?? 'lambda'))).toEqual(
      new Set(['lambda', 'sagemaker']),
    );
    expect(new Set(MATRIX.map(([, c]) => c.retainData ?? true))).toEqual(new Set([true, false]));
    expect(new Set(MATRIX.map(([, c]) => Boolean(c.alerts?.email)))).toEqual(new Set([true, false]));
  });
});
