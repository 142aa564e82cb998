import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { bars, Chart, colour } from './chart';
import { percentAxis } from './time-series';

/**
 * Two distributions as bars over the same bins (baseline against current, live against
 * shadow). Bins are drawn at their index so numeric and categorical bins look alike; the
 * axis and the legend show each bin's label.
 */
export function PairHistogram(props: {
  title: string;
  /** One label per bin (a category, or a numeric bin's range). */
  labels: readonly string[];
  first: { label: string; values: readonly number[] };
  second: { label: string; values: readonly number[] };
  height?: number;
}) {
  const { labels, first, second } = props;
  const data = useMemo(
    () => [labels.map((_, i) => i), [...first.values], [...second.values]] as unknown as uPlot.AlignedData,
    [labels, first.values, second.values],
  );
  const options = useMemo(() => {
    const label = (i: number) => labels[Math.round(i)] ?? '';
    return {
      title: props.title,
      height: props.height ?? 220,
      scales: { x: { time: false, range: [-0.6, labels.length - 0.4] as [number, number] } },
      axes: [
        {
          // Every bin's tick, thinned when the labels would overlap.
          splits: () => {
            const step = Math.max(1, Math.ceil(labels.length / 12));
            return labels.map((_, i) => i).filter((i) => i % step === 0);
          },
          values: (_: uPlot, ticks: number[]) => ticks.map(label),
        },
        percentAxis,
      ],
      series: [
        { label: 'bin', value: (_: uPlot, i: number | null) => (i === null ? '' : label(i)) },
        {
          label: first.label,
          stroke: colour(0),
          fill: `${colour(0)}55`,
          paths: bars,
          value: share,
        },
        {
          label: second.label,
          stroke: colour(1),
          fill: `${colour(1)}55`,
          paths: bars,
          value: share,
        },
      ],
    };
  }, [labels, first.label, second.label, props.title, props.height]);
  return <Chart label={props.title} data={data} options={options} />;
}

const share = (_: uPlot, v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
