/**
 * A plain-text table for a terminal: columns padded to their widest cell, two spaces
 * apart, upper-case headers; cells longer than `maxWidth` are cut with `…`.
 *
 * @example
 * textTable(['run id', 'status'], [['a1b2', 'FINISHED']]);
 * // RUN ID  STATUS\na1b2    FINISHED
 */
export function textTable(headers: string[], rows: string[][], maxWidth = 48): string {
  const clip = (s: string) => (s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s);
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(clip))];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A timestamp in ms as `2024-05-01 12:34` UTC; empty when absent. */
export function formatTime(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) : '';
}
