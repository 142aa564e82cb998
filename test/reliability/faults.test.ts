import { describe, expect, it } from 'vitest';
import { runMaterializeFaults } from './faults-materialize';
import { runRuntimeFaults } from './faults-suite';
import { mulberry32 } from './faults-support';

// CI runs a few kill -9 cycles (2 of the runtime, the first with a pipeline execution, and 1
// of a materialization); `npm run reliability` (bench/reliability/faults.ts) runs more, and
// MLOPS_FAULT_CYCLES sets every count here.
const cycles = Number(process.env.MLOPS_FAULT_CYCLES ?? 0);

describe('kill -9 of the local platform', () => {
  it(
    'during experiment, run and log-batch writes and a pipeline execution: loses nothing acknowledged, duplicates nothing, lists no ghost, wedges no name, and reruns complete',
    async () => {
      const { tracking, pipeline } = await runRuntimeFaults({
        cycles: cycles || 2,
        pipelineCycles: cycles || 1,
      });
      expect(tracking.acknowledged).toBeGreaterThan(0);
      expect(tracking).toMatchObject({ lost: 0, duplicated: 0, ghosts: 0, wedged: 0, lagging: 0 });
      // Per execution: one parent run, a finished run per trial (2) and one READY version.
      expect(pipeline.checked).toBe(4 * pipeline.cycles);
      expect(pipeline).toMatchObject({ duplicated: 0, wedged: 0, ghosts: 0 });
    },
    150_000 + (cycles || 2) * 90_000,
  );

  it(
    'during a materialization: the rerun completes and the online store equals a clean run’s',
    async () => {
      const counts = await runMaterializeFaults({ cycles: cycles || 1, random: mulberry32(23) });
      expect(counts.values).toBeGreaterThan(0);
      expect(counts).toMatchObject({ mismatched: 0, duplicated: 0, wedged: 0 });
    },
    60_000 + (cycles || 1) * 40_000,
  );
});
