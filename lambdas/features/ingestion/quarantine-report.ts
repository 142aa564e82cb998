import type { BatchReport } from './ingest';

/**
 * The short Markdown summary stored next to a quarantined batch: verdict, row count, and one
 * line per failed check (then the passed ones), so a person sees what to fix at a glance.
 *
 * @example
 * await store.put(bucket, `${prefix}report.md`, renderReport(report));
 */
export function renderReport(r: BatchReport): string {
  const failed = r.checks.filter((c) => !c.passed);
  const passed = r.checks.filter((c) => c.passed);
  const line = (c: BatchReport['checks'][number]): string =>
    `- ${c.check}${c.column ? ` \`${c.column}\`` : ''}: ${c.message}`;
  return [
    `# Batch ${r.batchId} of source \`${r.source}\`: ${r.passed ? 'accepted' : 'REJECTED'}`,
    '',
    `File: ${r.file}  `,
    `Rows: ${r.rows}  `,
    `Checked at: ${r.checkedAt}`,
    '',
    ...(failed.length ? ['## Failed checks', '', ...failed.map(line), ''] : []),
    ...(passed.length ? ['## Passed checks', '', ...passed.map(line), ''] : []),
  ].join('\n');
}
