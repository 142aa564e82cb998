import type { CalibrationBin, ConfusionMatrix } from '../evaluation/metrics';

/**
 * Self-contained SVG plots attached to runs (no scripts, no external CSS), readable in any
 * browser and in the MLflow UI's artifact viewer.
 */

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function svg(width: number, height: number, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">` +
    `<title>${esc(title)}</title><rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>${body}</svg>\n`
  );
}

/** A 2×2 confusion matrix with counts, shaded by share of rows. */
export function confusionMatrixSvg(cm: ConfusionMatrix, threshold: number): string {
  const total = cm.tp + cm.fp + cm.tn + cm.fn || 1;
  const cells: [string, number, number, number][] = [
    ['TN', cm.tn, 0, 0],
    ['FP', cm.fp, 1, 0],
    ['FN', cm.fn, 0, 1],
    ['TP', cm.tp, 1, 1],
  ];
  let body = '';
  for (const [label, count, col, row] of cells) {
    const x = 110 + col * 120;
    const y = 50 + row * 100;
    const shade = Math.round(255 - (count / total) * 200);
    body += `<rect x="${x}" y="${y}" width="120" height="100" fill="rgb(${shade},${shade},255)" stroke="#333"/>`;
    body += `<text x="${x + 60}" y="${y + 45}" text-anchor="middle" font-size="16">${count}</text>`;
    body += `<text x="${x + 60}" y="${y + 70}" text-anchor="middle">${label}</text>`;
  }
  body += `<text x="230" y="270" text-anchor="middle">predicted 0 | predicted 1 (threshold ${threshold})</text>`;
  body += `<text x="100" y="100" text-anchor="end">actual 0</text><text x="100" y="200" text-anchor="end">actual 1</text>`;
  return svg(380, 290, 'Confusion matrix', body);
}

/** Horizontal bars of importance per feature (largest first, top 30). */
export function importanceSvg(items: readonly { feature: string; value: number }[], label: string): string {
  const top = [...items].sort((a, b) => Math.abs(b.value) - Math.abs(a.value)).slice(0, 30);
  const max = Math.max(1e-300, ...top.map((t) => Math.abs(t.value)));
  const rowH = 20;
  let body = '';
  top.forEach((t, i) => {
    const y = 35 + i * rowH;
    const w = (Math.abs(t.value) / max) * 300;
    const color = t.value < 0 ? '#d62728' : '#1f77b4';
    body += `<text x="195" y="${y + 14}" text-anchor="end">${esc(t.feature.slice(0, 30))}</text>`;
    body += `<rect x="200" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`;
    body += `<text x="${205 + w}" y="${y + 14}">${t.value.toPrecision(3)}</text>`;
  });
  return svg(600, 50 + top.length * rowH, `Feature importance (${label})`, body);
}

/** Reliability diagram: mean predicted probability vs observed positive rate, per bin. */
export function calibrationSvg(bins: readonly CalibrationBin[]): string {
  const size = 300;
  const ox = 50;
  const oy = 340;
  const px = (v: number): number => ox + v * size;
  const py = (v: number): number => oy - v * size;
  let body = `<rect x="${ox}" y="${oy - size}" width="${size}" height="${size}" fill="none" stroke="#333"/>`;
  body += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#999" stroke-dasharray="4"/>`;
  const pts = bins
    .map((b) => `${px(b.meanPredicted).toFixed(1)},${py(b.fractionPositive).toFixed(1)}`)
    .join(' ');
  body += `<polyline points="${pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>`;
  for (const b of bins) {
    body += `<circle cx="${px(b.meanPredicted).toFixed(1)}" cy="${py(b.fractionPositive).toFixed(1)}" r="3" fill="#1f77b4"><title>${b.count} rows</title></circle>`;
  }
  body += `<text x="${ox + size / 2}" y="${oy + 30}" text-anchor="middle">mean predicted probability</text>`;
  body += `<text x="15" y="${oy - size / 2}" transform="rotate(-90 15 ${oy - size / 2})" text-anchor="middle">fraction positive</text>`;
  return svg(400, 380, 'Calibration', body);
}
