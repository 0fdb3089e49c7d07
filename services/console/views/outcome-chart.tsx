/**
 * Done and failed tasks per minute over the overview's window, drawn by uPlot on a canvas. The
 * canvas is hidden from assistive technology; the caption and a one-line summary carry the numbers.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface OutcomeSeries {
  /** Bucket starts, in seconds since the epoch. */
  times: number[];
  done: number[];
  failed: number[];
}

const DONE_COLOR = '#1a7f37';
const FAILED_COLOR = '#cf222e';
const HEIGHT = 120;

function data(s: OutcomeSeries): uPlot.AlignedData {
  return [s.times, s.done, s.failed];
}

function options(width: number): uPlot.Options {
  const axis = { stroke: '#57606a', grid: { stroke: '#eaeef2', width: 1 }, ticks: { stroke: '#d0d7de', width: 1 }, font: '11px system-ui, sans-serif' };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [
      { ...axis, space: 60 },
      { ...axis, size: 36, space: 24, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, 100_000] },
    ],
    series: [
      {},
      { label: 'Done', stroke: DONE_COLOR, fill: 'rgba(26,127,55,0.12)', width: 1.5, points: { show: false } },
      { label: 'Failed', stroke: FAILED_COLOR, fill: 'rgba(207,34,46,0.12)', width: 1.5, points: { show: false } },
    ],
  };
}

export function OutcomeChart({ series }: { series: OutcomeSeries }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(options(Math.max(200, el.clientWidth)), data(series), el);
    plot.current = u;
    // Follow the card's width (window resizes, the grid reflowing to one column at 360 px).
    const ro = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Created once; new data goes through setData below.
  }, []);

  useEffect(() => {
    plot.current?.setData(data(series));
  }, [series]);

  return <div class="chart" ref={box} aria-hidden="true" />;
}

export function ChartLegend() {
  return (
    <span class="legend" aria-hidden="true">
      <span class="swatch swatch-done" /> done <span class="swatch swatch-failed" /> failed
    </span>
  );
}
