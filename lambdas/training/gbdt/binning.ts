import { inSharedMemory } from '../parallel/shared-memory';
import type { SyncPool } from '../parallel/sync-pool';
import type { Rng } from '../random';
import type { BinArgs, GbdtState } from './kernels';

/** Most bins per feature; bin codes fit in a Uint8Array. */
export const MAX_BINS = 255;

/**
 * Bins every column into `state.bins` on the pool's threads, one column per thread at a time:
 * thresholds from a sample of up to `sampleSize` rows (drawn here, in column order, so the
 * seed gives the same bins whatever the thread count), then each row's bin code. Columns in
 * shared memory (a trial's design matrix) are read in place; others are staged there one
 * wave at a time, and the staging is dropped afterwards.
 */
export function binColumns(
  pool: SyncPool,
  columns: readonly Float64Array[],
  maxBins: number,
  rng: Rng,
  sampleSize = 200_000,
): void {
  const s = pool.state as unknown as GbdtState;
  const { n, nf } = s;
  const threads = pool.threads;
  const sampled = n > sampleSize;
  // Staging copies each column on the calling thread while the workers wait.
  const staged = !columns.every(inSharedMemory);
  pool.share({
    stage: staged ? new Float64Array(new SharedArrayBuffer(8 * threads * n)) : null,
    x: staged ? null : columns,
    sample: new Uint32Array(new SharedArrayBuffer(sampled ? 4 * threads * sampleSize : 4)),
  });
  for (let f0 = 0; f0 < nf; f0 += threads) {
    const features: number[] = [];
    for (let t = 0; t < threads; t++) {
      const f = f0 + t;
      if (f >= nf) {
        features.push(-1);
        continue;
      }
      features.push(f);
      if (staged) s.stage.set(columns[f]!, t * n);
      if (sampled) for (let i = 0; i < sampleSize; i++) s.sample[t * sampleSize + i] = rng.int(n);
    }
    const args: BinArgs = { features, sampled, sampleSize, maxBins, staged };
    pool.run('bin', args);
  }
  pool.share({ stage: null, x: null, sample: null });
}
