import type { ChartSeries } from './production/metrics';

/**
 * The dashboard's live chart: passes and failures per bucket as bars, the trailing units per hour as
 * a line on its own axis. uPlot (and its stylesheet) is loaded only when a chart is first shown.
 */
export interface ChartHandle {
  update(series: ChartSeries): void;
  resize(width: number): void;
  destroy(): void;
}

const HEIGHT = 240;

export async function createChart(host: HTMLElement, series: ChartSeries): Promise<ChartHandle> {
  const [{ default: UPlot }] = await Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]);
  const css = getComputedStyle(host);
  const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const c = { ok: color('--ok', '#17773a'), err: color('--err', '#b42318'), accent: color('--accent', '#1f5fd6'), muted: color('--muted', '#586273'), border: color('--border', '#d5dae1') };
  const axis = { stroke: c.muted, grid: { stroke: c.border, width: 1 }, ticks: { stroke: c.border, width: 1 } };
  const bars = UPlot.paths.bars?.({ size: [0.6, 24] });
  const data = (s: ChartSeries): [number[], number[], number[], number[]] => [s.t, s.passed, s.failed, s.uph];
  const plot = new UPlot(
    {
      width: host.clientWidth || 600,
      height: HEIGHT,
      series: [
        {},
        { label: 'Passed', stroke: c.ok, fill: `${c.ok}55`, paths: bars, points: { show: false } },
        { label: 'Failed', stroke: c.err, fill: `${c.err}88`, paths: bars, points: { show: false } },
        { label: 'Units/hour', stroke: c.accent, width: 2, scale: 'uph', points: { show: false } },
      ],
      axes: [axis, { ...axis, label: 'devices' }, { ...axis, side: 1, scale: 'uph', label: 'units/hour', grid: { show: false } }],
      scales: { x: { time: true }, uph: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    },
    data(series),
    host,
  );
  return {
    update: (s) => plot.setData(data(s)),
    resize: (width) => plot.setSize({ width: width || 600, height: HEIGHT }),
    destroy: () => plot.destroy(),
  };
}
