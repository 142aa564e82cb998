import { describe, expect, it } from 'vitest';
import { runFaultSuite } from './faults-suite';

// CI runs a few kill -9 cycles; `npm run reliability` (bench/reliability/faults.ts) runs more,
// and MLOPS_FAULT_CYCLES sets the count here.
const cycles = Number(process.env.MLOPS_FAULT_CYCLES ?? 2);

describe('kill -9 of the local platform during experiment, run and log-batch writes', () => {
  it(
    'loses nothing acknowledged, duplicates nothing, lists no ghost, wedges no name, and a rerun completes',
    async () => {
      const counts = await runFaultSuite({ cycles });
      expect(counts.acknowledged).toBeGreaterThan(0);
      expect(counts).toMatchObject({ lost: 0, duplicated: 0, ghosts: 0, wedged: 0, lagging: 0 });
    },
    110_000 + cycles * 60_000,
  );
});
