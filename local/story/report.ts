import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadLifecycleReport, renderLifecycleReport } from '../../lambdas/platform/lifecycle-report';
import type { StoryContext } from './context';

/**
 * Writes the story's one HTML report to `<data dir>/reports/lifecycle.html` while the
 * platform still runs: the steps, runs compared, registry history, deployments with their
 * traffic steps and the rollback, drift, the A/B analysis, the shadow report and live
 * performance, read through the API by the lifecycle report module. Returns its path.
 */
export async function writeReport(
  ctx: StoryContext,
  steps: readonly { name: string; outcome: string; seconds: number }[],
): Promise<string> {
  const dir = join(ctx.rt.dataDir, 'reports');
  await mkdir(dir, { recursive: true });
  const f = ctx.facts;
  const data = await loadLifecycleReport({
    apiUrl: ctx.rt.url,
    modelName: f.model,
    runIds: f.runIds,
    ...(f.experiment ? { abExperimentId: f.experiment.id } : {}),
    ...(f.shadow ? { shadowId: f.model, shadowVersion: f.shadow.version } : {}),
    driftReports: f.driftReports,
    steps: steps.map((s) => ({ name: s.name, outcome: s.outcome, seconds: s.seconds })),
    ...(f.performance ? { performance: f.performance } : {}),
  });
  const path = join(dir, 'lifecycle.html');
  await writeFile(path, renderLifecycleReport(data));
  return path;
}
