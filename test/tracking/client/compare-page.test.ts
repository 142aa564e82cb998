import { describe, expect, it } from 'vitest';
import type { Run } from '../../../lambdas/tracking/client/types';
import type { ComparedRun } from '../../../lambdas/tracking/report/compare-data';
import { renderComparePage } from '../../../lambdas/tracking/report/compare-page';
import { niceTicks } from '../../../lambdas/tracking/report/line-chart';
import { valueDiff } from '../../../lambdas/tracking/report/value-diff';

function compared(
  id: string,
  name: string,
  loss: (number | string)[],
  params: Record<string, string>,
): ComparedRun {
  const history = loss.map((value, step) => ({ key: 'loss', value, step, timestamp: 1 }));
  const run: Run = {
    info: {
      run_id: id,
      run_uuid: id,
      run_name: name,
      experiment_id: '1',
      user_id: 'u',
      status: 'FINISHED',
      start_time: Date.UTC(2025, 0, 2, 3, 4, 5),
      end_time: Date.UTC(2025, 0, 2, 3, 6, 5),
      artifact_uri: '',
      lifecycle_stage: 'active',
    },
    data: {
      metrics: history.slice(-1),
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      tags: [],
    },
    inputs: { dataset_inputs: [] },
  };
  return { run, history: { loss: history } };
}

describe('the compare page', () => {
  it('escapes names and values, leaves non-finite points out of the line, and loads nothing external', () => {
    const html = renderComparePage(
      [
        compared('r1', '<b>bold</b>', [1, 'NaN', 0.5], { note: '"quoted" & <tag>' }),
        compared('r2', 'plain', [2, 1], { note: 'x' }),
      ],
      new Date(Date.UTC(2025, 5, 1)),
    );
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('&quot;quoted&quot; &amp; &lt;tag&gt;');
    expect(html).toContain('data-run="r1" data-points="0:1 2:0.5"');
    expect(html).toContain('data-run="r2" data-points="0:2 1:1"');
    expect(html).toContain('2025-01-02 03:04:05');
    expect(html).toContain('2m 00s');
    expect(html).toContain('generated 2025-06-01 00:00:00 UTC');
    expect(html).not.toMatch(/<script|<link|<img|url\(/);
  });

  it('puts differing keys first, counting a missing value as a difference', () => {
    expect(
      valueDiff([
        { a: '1', b: '2', c: '3' },
        { a: '1', b: '9' },
      ]),
    ).toEqual([
      { key: 'b', values: ['2', '9'], differs: true },
      { key: 'c', values: ['3', undefined], differs: true },
      { key: 'a', values: ['1', '1'], differs: false },
    ]);
  });

  it('picks round axis ticks inside the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.03, 0.87)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 59, 6)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});
