import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Distinct series colours (Okabe–Ito, readable by colour-blind readers). */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];
export const colour = (i: number) => PALETTE[i % PALETTE.length] as string;

/**
 * A uPlot chart sized to its container; rebuilt when `data` or `options` change (charts
 * here are small, so rebuilding is simpler than diffing).
 */
export function Chart(props: {
  options: Omit<uPlot.Options, 'width' | 'height'> & { height?: number };
  data: uPlot.AlignedData;
  label: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const width = Math.max(320, el.clientWidth || 640);
    const plot = new uPlot({ height: 260, ...props.options, width }, props.data, el);
    return () => plot.destroy();
  }, [props.data, props.options]);
  return <div class="chart" ref={ref} role="img" aria-label={props.label} />;
}

/** Bars for a histogram drawn by uPlot's bar path builder. */
export const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 64] }) : undefined;
