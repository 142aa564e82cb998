import { describe, expect, it } from 'vitest';
import { shadowReportText } from '../../lambdas/experiments/shadow/cli';
import { renderShadowHtml } from '../../lambdas/experiments/shadow/html';
import type { ShadowPair } from '../../lambdas/experiments/shadow/pairs';
import { sampled } from '../../lambdas/experiments/shadow/pairs';
import { HISTOGRAM_BINS, shadowReport } from '../../lambdas/experiments/shadow/report';

const pair = (
  request: string,
  row: number,
  live: number,
  shadow: number | null,
  error?: string,
): ShadowPair => ({
  request_id: request,
  row,
  timestamp: '2026-12-04T10:00:00.000Z',
  live_version: '1',
  live_prediction: live,
  shadow_version: '2',
  shadow_prediction: shadow,
  ...(error ? { shadow_error: error } : {}),
});

describe('the shadow report', () => {
  // Five scored rows (one crosses 0.5, one sits on it) and one the shadow failed on.
  const pairs = [
    pair('a', 0, 0.1, 0.2),
    pair('a', 1, 0.9, 0.7),
    pair('b', 0, 0.45, 0.55),
    pair('c', 0, 0.5, 0.6),
    pair('d', 0, 0.3, 0.3),
    pair('e', 0, 0.8, null, 'boom'),
  ];

  it('counts agreement as the same class at 0.5 for a classifier, with mean and max |diff|', () => {
    const r = shadowReport(pairs, { task: 'classification', tolerance: 0.01, divergenceThreshold: 0.05 });
    expect(r).toMatchObject({
      rows: 6,
      scored: 5,
      shadow_errors: 1,
      live_versions: ['1'],
      shadow_version: '2',
    });
    // 0.45 -> 0.55 crosses; 0.5 and 0.6 are both the positive class.
    expect(r.agreement_rate).toBeCloseTo(4 / 5, 12);
    expect(r.mean_abs_diff).toBeCloseTo((0.1 + 0.2 + 0.1 + 0.1 + 0) / 5, 12);
    expect(r.max_abs_diff).toBeCloseTo(0.2, 12);
    // One disagreement and one failure out of six rows.
    expect(r.divergence.rate).toBeCloseTo(2 / 6, 12);
    expect(r.divergence.divergent).toBe(true);
    expect(r.errors).toEqual(['boom']);
  });

  it('counts agreement within the tolerance for a regression, and flags only beyond the threshold', () => {
    const r = shadowReport(pairs, { task: 'regression', tolerance: 0.1 + 1e-9, divergenceThreshold: 0.5 });
    // |diff| <= 0.1: rows a/0, b, c, d agree; a/1 (0.2) does not.
    expect(r.agreement_rate).toBeCloseTo(4 / 5, 12);
    expect(r.agreement_rule).toContain('<=');
    expect(r.divergence.divergent).toBe(false);
  });

  it('puts both distributions on shared bins that hold every scored row', () => {
    const r = shadowReport(pairs, { task: 'classification', tolerance: 0, divergenceThreshold: 1 });
    expect(r.histogram.edges).toHaveLength(HISTOGRAM_BINS + 1);
    expect(r.histogram.edges[0]).toBeCloseTo(0.1, 12);
    expect(r.histogram.edges[HISTOGRAM_BINS]).toBeCloseTo(0.9, 12);
    expect(r.histogram.live.reduce((a, b) => a + b, 0)).toBe(5);
    expect(r.histogram.shadow.reduce((a, b) => a + b, 0)).toBe(5);
    // The live 0.9 is in the last bin; the shadow's largest, 0.7, is not.
    expect(r.histogram.live[HISTOGRAM_BINS - 1]).toBe(1);
    expect(r.histogram.shadow[HISTOGRAM_BINS - 1]).toBe(0);
  });

  it('counts a redelivered batch once', () => {
    const once = shadowReport(pairs, { task: 'classification', tolerance: 0, divergenceThreshold: 1 });
    const twice = shadowReport([...pairs, ...pairs], {
      task: 'classification',
      tolerance: 0,
      divergenceThreshold: 1,
    });
    expect(twice).toEqual(once);
  });

  it('says there is nothing to compare yet', () => {
    const r = shadowReport([], { task: 'classification', tolerance: 0, divergenceThreshold: 0.05 });
    expect(r).toMatchObject({
      rows: 0,
      agreement_rate: null,
      divergence: { divergent: false, reason: 'no pairs yet' },
    });
  });
});

describe('sampling by request id', () => {
  it('is the same decision every time and close to the rate', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `req-${i}`);
    const picked = ids.filter((id) => sampled(id, 0.25));
    expect(ids.filter((id) => sampled(id, 0.25))).toEqual(picked);
    expect(picked.length / ids.length).toBeGreaterThan(0.22);
    expect(picked.length / ids.length).toBeLessThan(0.28);
  });
});

describe('the shadow report’s renderings', () => {
  const report = {
    model: 'churn',
    since: '2026-12-01',
    ...shadowReport(
      [
        { ...pairOf(0.2, 0.3), request_id: 'a' },
        { ...pairOf(0.7, 0.4), request_id: 'b' },
      ],
      { task: 'classification', tolerance: 0, divergenceThreshold: 0.05 },
    ),
  };

  it('writes an HTML page with the flag and both distributions plotted', () => {
    const html = renderShadowHtml(report);
    expect(html).toContain('<svg');
    expect(html).toContain('divergent');
    expect(html).toContain('Since 2026-12-01');
    // One bar per bin and side.
    expect(html.match(/<rect /g)).toHaveLength(2 * HISTOGRAM_BINS);
    // Each bar's tooltip names its series as the page does.
    expect(html.match(/<title>[^<]*: live /g)).toHaveLength(HISTOGRAM_BINS);
    expect(html.match(/<title>[^<]*: shadow /g)).toHaveLength(HISTOGRAM_BINS);
    expect(html).not.toMatch(/baseline|current/);
  });

  it('prints the figures and the verdict as text', () => {
    const text = shadowReportText(report);
    expect(text).toContain('agreement (same class at 0.5): 0.5000');
    expect(text).toContain('DIVERGENT');
  });
});

function pairOf(live: number, shadow: number): ShadowPair {
  return pair('x', 0, live, shadow);
}
