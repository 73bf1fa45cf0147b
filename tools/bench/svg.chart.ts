// Line charts as hand-written SVG, for the benches' results/: no dependency, opens in any browser.
// Panels are stacked and share the x axis (seconds since the start of the run).

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [x in seconds, y] */
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** A dashed line, for a configured value next to a measured one. */
  readonly dashed?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly series: ReadonlyArray<Series>;
}

/** A vertical line across every panel at a moment worth naming ("load ends", "drained"). */
export interface Marker {
  readonly x: number;
  readonly label: string;
}

const WIDTH = 900;
const PANEL_HEIGHT = 240;
const MARGIN = { top: 34, right: 20, bottom: 34, left: 70 };

export function renderChart(title: string, panels: ReadonlyArray<Panel>, markers: ReadonlyArray<Marker> = []): string {
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xMax = niceCeiling(Math.max(1, ...xs));
  const height = 40 + panels.length * PANEL_HEIGHT;
  const body = panels.map((panel, i) => renderPanel(panel, 40 + i * PANEL_HEIGHT, xMax, markers)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${MARGIN.left}" y="24" font-size="16" font-weight="600">${escape(title)}</text>
${body}
</svg>
`;
}

function renderPanel(panel: Panel, top: number, xMax: number, markers: ReadonlyArray<Marker>): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const y0 = top + MARGIN.top;
  const yMax = niceCeiling(Math.max(1, ...panel.series.flatMap((s) => s.points.map(([, y]) => y))));
  const px = (x: number) => MARGIN.left + (x / xMax) * plotWidth;
  const py = (y: number) => y0 + plotHeight - (y / yMax) * plotHeight;

  const grid = ticks(yMax).map(
    (t) =>
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e5e7eb"/>` +
      `<text x="${MARGIN.left - 8}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end" fill="#6b7280">${format(t)}</text>`,
  );
  const xTicks = ticks(xMax).map(
    (t) => `<text x="${px(t).toFixed(1)}" y="${y0 + plotHeight + 18}" text-anchor="middle" fill="#6b7280">${format(t)} s</text>`,
  );
  const lines = panel.series
    .filter((s) => s.points.length > 0)
    .map(
      (s) =>
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${s.points
          .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`)
          .join(' ')}"/>`,
    );
  const marks = markers.map(
    (m) =>
      `<line x1="${px(m.x).toFixed(1)}" x2="${px(m.x).toFixed(1)}" y1="${y0}" y2="${y0 + plotHeight}" stroke="#9ca3af" stroke-dasharray="3 3"/>` +
      `<text x="${(px(m.x) + 4).toFixed(1)}" y="${y0 + 12}" fill="#6b7280">${escape(m.label)}</text>`,
  );
  let legendX = MARGIN.left + 220;
  const legend = panel.series.map((s) => {
    const item = `<rect x="${legendX}" y="${top + 12}" width="12" height="3" fill="${s.color}"/><text x="${legendX + 16}" y="${top + 17}">${escape(s.name)}</text>`;
    legendX += 24 + s.name.length * 7;
    return item;
  });
  return [
    `<text x="${MARGIN.left}" y="${top + 18}" font-weight="600">${escape(panel.title)}</text>`,
    ...legend,
    ...grid,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${y0}" y2="${y0 + plotHeight}" stroke="#9ca3af"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y0 + plotHeight}" y2="${y0 + plotHeight}" stroke="#9ca3af"/>`,
    ...xTicks,
    ...marks,
    ...lines,
  ].join('\n');
}

/** A round number at or above `value` (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten): axis ends a reader can read. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= value) ?? 10) * power;
}

function ticks(max: number): number[] {
  return Array.from({ length: 6 }, (_, i) => (max * i) / 5);
}

function format(n: number): string {
  return n >= 10_000 ? `${n / 1_000}k` : Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
