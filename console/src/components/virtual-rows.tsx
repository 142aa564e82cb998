import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
  Virtualizer,
} from '@tanstack/virtual-core';
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';

export const ROW_HEIGHT = 28;

/**
 * A scroll box that renders only the rows in view (plus an overscan), so 10,000 runs cost
 * as much DOM as 40. `onRange` reports the last index shown (to fetch the next page).
 */
export function VirtualRows(props: {
  count: number;
  header: ComponentChildren;
  row: (index: number, item: VirtualItem) => ComponentChildren;
  onRange?: (lastIndex: number) => void;
  label: string;
}) {
  const scroller = useRef<HTMLElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const options = {
    count: props.count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Rows start below the sticky header.
    scrollMargin: 0,
    paddingStart: ROW_HEIGHT,
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLElement, HTMLDivElement>(options));
  virtualizer.setOptions({ ...virtualizer.options, ...options });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1]?.index ?? -1;
  const onRange = props.onRange;
  useLayoutEffect(() => onRange?.(last), [last, props.count, onRange]);
  return (
    <section class="vt" ref={scroller} aria-label={props.label}>
      <div style={{ height: `${virtualizer.getTotalSize()}px`, position: 'relative' }}>
        {props.header}
        {items.map((item) => props.row(item.index, item))}
      </div>
    </section>
  );
}
