import { join } from 'node:path';
import { runPipeline, TRAINING_PIPELINE } from '../../local/pipeline';
import { startLocalRuntime } from '../../local/runtime';
import { demoInput, seedDemo } from '../../local/start';
import { type Benchmark, peakRssMiB } from '../harness';

/**
 * The local pipeline on 100,000 training rows: total wall time, and the share of it that
 * is orchestration (Step Functions semantics, event plumbing, hops to the function
 * sandboxes) rather than tasks running, with the functions started beforehand. Ours = orchestration time, baseline = total
 * wall time; goal: orchestration under 5% of the total.
 */
const bench: Benchmark = async (ctx) => {
  // 11,112 users × 9 snapshots = 100,008 labelled rows.
  const users = ctx.quick ? 1112 : 11_112;
  const rt = await startLocalRuntime({ port: 0, inMemory: true, dataDir: join(ctx.workDir, 'pipeline') });
  try {
    ctx.progress(`generating ${users * 9} labelled rows`);
    const seed = await seedDemo(rt, { users, progress: ctx.progress });
    // Cold starts (a sandbox importing its modules) are the functions' own start-up, as
    // Lambda reports Init Duration apart from the invocation: measured apart, not counted
    // as orchestration.
    const coldStarted = performance.now();
    await rt.stepFunctions.warm(TRAINING_PIPELINE);
    const coldStartMs = performance.now() - coldStarted;
    ctx.progress(`function sandboxes started in ${(coldStartMs / 1000).toFixed(1)} s; running the pipeline`);
    const r = await runPipeline(rt, {
      name: `bench-${Date.now()}`,
      input: demoInput(seed, { modelName: 'bench-model' }),
      progress: (l) => {
        if (l.includes('✓') || l.includes('✗')) ctx.progress(l.trim());
      },
    });
    if (r.status !== 'SUCCEEDED') throw new Error(`pipeline ${r.status}: ${JSON.stringify(r.error)}`);
    const wall = r.wallMs ?? 0;
    const busy = r.taskBusyMs ?? 0;
    const rows = (r.output as { trainingSet?: { rows: number } }).trainingSet?.rows ?? 0;
    return [
      {
        id: 'pipeline.local.orchestration-share',
        ours: Math.round(wall - busy),
        baseline: Math.round(wall),
        unit: 'ms',
        goal: { ratioAtMost: 0.05 },
        extra: {
          trainingRows: rows,
          totalSeconds: Number((wall / 1000).toFixed(1)),
          taskSeconds: Number((busy / 1000).toFixed(1)),
          coldStartSeconds: Number((coldStartMs / 1000).toFixed(1)),
          ...Object.fromEntries(
            Object.entries(r.stateDurations).map(([k, v]) => [`state ${k} s`, Number((v / 1000).toFixed(2))]),
          ),
          peakRssMiB: Math.round(peakRssMiB()),
        },
      },
    ];
  } finally {
    await rt.stop();
  }
};

export default bench;
