/** Prefix of the drift reports in the monitoring bucket. */
export const REPORTS_PREFIX = 'reports';

const segment = (s: string) => encodeURIComponent(s);

/** Where one run's report of a model version goes: `reports/model=<m>/version=<v>/<time>.json|.html`. */
export function reportKeys(model: string, version: string, at: number): { json: string; html: string } {
  // Colons out of the time: they are awkward in file names on some systems.
  const stamp = new Date(at).toISOString().replace(/[:.]/g, '-');
  const base = `${REPORTS_PREFIX}/model=${segment(model)}/version=${segment(version)}/${stamp}`;
  return { json: `${base}.json`, html: `${base}.html` };
}

/**
 * The pointer to the latest run's report: of one version (also the drift state the next run
 * reads), or of the model's latest run of any version (what `mlops monitor report` opens).
 */
export function latestReportKey(model: string, version?: string): string {
  return version === undefined
    ? `${REPORTS_PREFIX}/model=${segment(model)}/latest.json`
    : `${REPORTS_PREFIX}/model=${segment(model)}/version=${segment(version)}/latest.json`;
}
