import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { registerExperimentCommands } from '../../lambdas/experiments/cli';
import { apiUrl, call, classifierOnnx, putArtifact, unique } from '../tracking/support';

/** Runs `mlops experiments <args>` against the test run's local platform. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((s) => {
    stdout += `${s}\n`;
  });
  const error = vi.spyOn(console, 'error').mockImplementation((s) => {
    stderr += `${s}\n`;
  });
  try {
    const program = new Command('mlops').exitOverride();
    registerExperimentCommands(program);
    await program.parseAsync(['experiments', ...args, '--api-url', apiUrl], { from: 'user' });
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.exitCode = undefined;
  }
}

/** Registers a model with two READY versions (a tiny ONNX classifier). */
async function registeredModel(): Promise<string> {
  const exp = await call('POST', 'experiments/create', { name: unique('exp-cli') });
  const name = unique('exp-cli-model');
  await call('POST', 'registered-models/create', { name });
  for (let i = 0; i < 2; i++) {
    const run = (await call('POST', 'runs/create', { experiment_id: exp.body.experiment_id })).body.run;
    const uri = run.info.artifact_uri as string;
    await putArtifact(
      uri,
      'model/MLmodel',
      'artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n',
    );
    await putArtifact(uri, 'model/model.onnx', classifierOnnx(false));
    const v = await call('POST', 'model-versions/create', {
      name,
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    expect(v.body.model_version.status).toBe('READY');
  }
  return name;
}

let model: string;
beforeAll(async () => {
  model = await registeredModel();
}, 120_000);

describe('mlops experiments create, list, show, stop', () => {
  it('creates, shows, lists and stops an experiment through the API', async () => {
    const id = unique('ab');
    const created = await cli(
      'create',
      id,
      '--model',
      model,
      '--control',
      '1',
      '--treatment',
      '2',
      '--allocation',
      'control=0.8,treatment=0.2',
      '--format',
      'json',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).experiment).toMatchObject({
      id,
      model,
      control_version: '1',
      treatment_version: '2',
      allocation: { control: 0.8, treatment: 0.2 },
      salt: id,
      status: 'running',
    });

    const shown = await cli('show', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${id}  model ${model}  control v1 80%  treatment v2 20%  running`);
    const listed = await cli('list', '--model', model, '--format', 'json');
    expect(JSON.parse(listed.stdout).experiments.map((e: { id: string }) => e.id)).toEqual([id]);

    // A second experiment on the model is refused while the first runs; the API's words.
    const second = await cli('create', unique('ab'), '--model', model, '--control', '1', '--treatment', '2');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`error: .*already has a running experiment '${id}'; stop it first`),
    );

    const stopped = await cli('stop', id);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('  stopped  created ');
    // Stopping again is fine and answers the same.
    expect((await cli('stop', id)).stdout).toBe(stopped.stdout);
    expect((await cli('show', id, '--format', 'json')).stdout).toContain('"status": "stopped"');
  });

  it('refuses bad input with a clear error and exit code 1, creating nothing', async () => {
    const id = unique('bad');
    const cases: [string[], RegExp][] = [
      [['create', id, '--model', model], /needs --control, --treatment/],
      [
        [
          'create',
          id,
          '--model',
          model,
          '--control',
          '1',
          '--treatment',
          '2',
          '--allocation',
          'control=0.9,treatment=0.2',
        ],
        /must sum to 1 \(100%\).*1\.1 \(110%\)/,
      ],
      [
        ['create', id, '--model', model, '--control', '1', '--treatment', '2', '--allocation', 'a=0.5,b=0.5'],
        /names the arms control and treatment/,
      ],
      [['create', id, '--model', model, '--control', '1', '--treatment', '7'], /has no version 7/],
      [['create', id, '--model', model, '--control', '2', '--treatment', '2'], /two different versions/],
      [['list'], /needs --model/],
      [['show', 'no-such-experiment'], /Experiment 'no-such-experiment' not found/],
      [['stop', 'no-such-experiment'], /Experiment 'no-such-experiment' not found/],
      [['show', 'not a name!'], /error: /],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(
      JSON.parse((await cli('list', '--model', model, '--format', 'json')).stdout).experiments,
    ).not.toContainEqual(expect.objectContaining({ id }));
  });
});
