import type { ModelVersion, RegisteredModel, Run } from '../client/types';
import { formatDuration, formatNumber } from './html';
import { formatTime, textTable } from './text-table';

const num = (v: number | string) => (typeof v === 'number' ? formatNumber(v) : v);

/**
 * `mlops runs list` as text: one line per run with its latest metrics (the first three
 * by key, so columns stay readable).
 */
export function runsText(runs: Run[]): string {
  if (runs.length === 0) return 'No runs.';
  const rows = runs.map((r) => {
    const metrics = [...r.data.metrics].sort((a, b) => a.key.localeCompare(b.key));
    const shown = metrics.slice(0, 3).map((m) => `${m.key}=${num(m.value)}`);
    if (metrics.length > 3) shown.push(`+${metrics.length - 3}`);
    return [
      r.info.run_id,
      r.info.run_name,
      r.info.experiment_id,
      r.info.status,
      formatTime(r.info.start_time),
      r.info.end_time ? formatDuration(r.info.end_time - r.info.start_time) : '',
      shown.join(' '),
    ];
  });
  return textTable(['run id', 'name', 'exp', 'status', 'started (UTC)', 'duration', 'metrics'], rows, 64);
}

/** `mlops runs show` as text: info, then params, tags and latest metrics sorted by key. */
export function runText(run: Run): string {
  const i = run.info;
  const lines = [
    `run ${i.run_id}  ${i.run_name}`,
    `experiment ${i.experiment_id}  status ${i.status}  user ${i.user_id || '-'}`,
    `started ${formatTime(i.start_time)} UTC${i.end_time ? `  duration ${formatDuration(i.end_time - i.start_time)}` : ''}`,
    `artifacts ${i.artifact_uri}`,
  ];
  const section = (title: string, pairs: [string, string][]) => {
    if (pairs.length === 0) return;
    lines.push('', `${title}:`);
    const width = Math.max(...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs.sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`  ${k.padEnd(width)}  ${v}`);
  };
  section(
    'params',
    run.data.params.map((p) => [p.key, p.value]),
  );
  section(
    'metrics (latest)',
    run.data.metrics.map((m) => [m.key, `${num(m.value)} (step ${m.step})`]),
  );
  section(
    'tags',
    run.data.tags.map((t) => [t.key, t.value]),
  );
  for (const d of run.inputs.dataset_inputs)
    lines.push(
      `dataset ${d.dataset.name} digest ${d.dataset.digest}${d.dataset.source ? ` (${d.dataset.source})` : ''}`,
    );
  return lines.join('\n');
}

const STAGE_ORDER = ['Production', 'Staging', 'Archived'];

/** The latest version per stage, most live stage first: `Production:v3 Staging:v4`. */
const stagesOf = (versions: ModelVersion[]) =>
  versions
    .filter((v) => STAGE_ORDER.includes(v.current_stage))
    .sort((a, b) => STAGE_ORDER.indexOf(a.current_stage) - STAGE_ORDER.indexOf(b.current_stage))
    .map((v) => `${v.current_stage}:v${v.version}`)
    .join(' ');

/** `mlops models list` as text. */
export function modelsText(models: RegisteredModel[]): string {
  if (models.length === 0) return 'No registered models.';
  const rows = models.map((m) => [
    m.name,
    m.latest_versions.reduce((max, v) => Math.max(max, Number(v.version)), 0).toString(),
    stagesOf(m.latest_versions),
    m.aliases.map((a) => `@${a.alias}=v${a.version}`).join(' '),
    formatTime(m.last_updated_timestamp),
  ]);
  return textTable(['name', 'latest', 'stages', 'aliases', 'updated (UTC)'], rows);
}

/** `mlops models show` as text: the model, then each version newest first. */
export function modelText(model: RegisteredModel, versions: ModelVersion[]): string {
  const head = [
    `model ${model.name}${model.description ? `  ${model.description}` : ''}`,
    `aliases ${model.aliases.map((a) => `@${a.alias}=v${a.version}`).join(' ') || '-'}`,
  ];
  if (model.tags.length) head.push(`tags ${model.tags.map((t) => `${t.key}=${t.value}`).join(' ')}`);
  const sorted = [...versions].sort((a, b) => Number(b.version) - Number(a.version));
  const rows = sorted.map((v) => [
    v.version,
    v.current_stage,
    v.status,
    v.aliases.map((a) => `@${a}`).join(' '),
    v.run_id,
    formatTime(v.creation_timestamp),
    v.source,
  ]);
  const table = rows.length
    ? textTable(['version', 'stage', 'status', 'aliases', 'run id', 'created (UTC)', 'source'], rows, 64)
    : 'No versions.';
  return `${head.join('\n')}\n\n${table}`;
}
