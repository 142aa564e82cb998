import type { StoryResult } from './story';

/** The summary table (step, outcome, seconds), where to look next, and the total time. */
export function printSummary(r: StoryResult, out: NodeJS.WritableStream): void {
  const w = Math.max(...r.steps.map((s) => s.name.length), 4);
  const line = (s: string) => out.write(`${s}\n`);
  line('\nsummary');
  line(`  ${'step'.padEnd(w)}  ${'seconds'.padStart(7)}  outcome`);
  for (const s of r.steps)
    line(`  ${s.name.padEnd(w)}  ${s.seconds.toFixed(1).padStart(7)}  ${s.ok ? '' : '✗ '}${s.outcome}`);
  if (r.report) line(`\nreport     ${r.report}`);
  line(`data dir   ${r.dataDir} (${r.dataDirMode}; npm start reuses it, --reset starts from nothing)`);
  line(
    r.ok
      ? `\nthe whole lifecycle ran in ${r.seconds.toFixed(1)}s`
      : `\nFAILED at step '${r.failedStep}' after ${r.seconds.toFixed(1)}s: ${r.error}`,
  );
}

/** What to try while `--keep` leaves the platform running. */
export function printExplore(url: string, model: string, dataDir: string, out: NodeJS.WritableStream): void {
  const line = (s: string) => out.write(`${s}\n`);
  line('\nthe platform keeps running (Ctrl-C stops it):');
  line(`  API          ${url}   (health: ${url}/health)`);
  line(`  MLflow       MLFLOW_TRACKING_URI=${url}`);
  line(`  data         ${dataDir}`);
  line('\ntry, in another shell:');
  line(`  export MLOPS_API_URL=${url}`);
  line(`  npx mlops models show ${model}`);
  line(`  npx mlops deploy status ${model}`);
  line(`  npx mlops runs list --experiment ${model}`);
  line(
    `  curl -s -X POST ${url}/v1/models/${model}/predict -H 'content-type: application/json' -d '{"entities": {"user_id": [1, 2]}}'`,
  );
  line(`  curl -s ${url}/api/2.0/mlflow/registered-models/get?name=${model}`);
  line(
    `  MLFLOW_TRACKING_URI=${url} python -c "import mlflow; print(mlflow.search_runs(experiment_names=['${model}']))"`,
  );
}
