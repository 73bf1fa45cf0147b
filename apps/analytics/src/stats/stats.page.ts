import type { Stats } from './stats.js';

/**
 * GET /stats/page: the numbers as a small HTML page with inline SVG charts. Everything is in the
 * one response (no script, no stylesheet, no font to fetch), so the page works offline and its
 * Content-Security-Policy can forbid loading anything at all.
 */
export function renderStatsPage(stats: Stats, now: Date): string {
  const lastDays = (n: number) =>
    Array.from({ length: n }, (_, i) => new Date(now.getTime() - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10));
  const days = lastDays(30);
  const signups = new Map(stats.signups.byDay.map((d) => [d.day, d.signups]));
  const revenue = new Map(stats.sales.byDay.map((d) => [d.day, d.revenueCents]));
  const concertRows = stats.concerts
    .map(
      (c) =>
        `<tr><td>${escape(c.concertName)}</td><td>${c.tickets}</td><td>${money(c.revenueCents)}</td><td>${c.confirmed}</td><td>${c.rejected}</td><td>${percent(c.conversion)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>boxoffice analytics</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
.figures{display:flex;gap:2rem;flex-wrap:wrap}.figures div{font-size:.85rem;color:#666}.figures b{display:block;font-size:1.6rem;color:#222}
svg{width:100%;height:auto;background:#fafafa;border:1px solid #eee}rect{fill:#4a7bd0}text{font-size:11px;fill:#666}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .6rem;border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}
</style></head><body>
<h1>boxoffice analytics</h1>
<p>Projections of the event log, as of ${escape(now.toISOString())}. Rebuilt from the log with <code>npm run analytics:rebuild</code>.</p>
<section class="figures">
<div><b>${stats.signups.total}</b>sign-ups</div>
<div><b>${stats.sales.tickets}</b>tickets sold</div>
<div><b>${money(stats.sales.revenueCents)}</b>revenue</div>
<div><b>${percent(stats.sales.conversion)}</b>conversion (${stats.sales.confirmed} confirmed, ${stats.sales.rejected} rejected, ${stats.sales.declined} payments declined)</div>
</section>
<h2>Sign-ups per day, last 30 days</h2>
${barChart(
  'sign-ups per day',
  days.map((day) => ({ label: day, value: signups.get(day) ?? 0 })),
  String,
)}
<h2>Revenue per day, last 30 days</h2>
${barChart(
  'revenue per day',
  days.map((day) => ({ label: day, value: revenue.get(day) ?? 0 })),
  money,
)}
<h2>Concerts</h2>
<table><thead><tr><th>concert</th><th>tickets</th><th>revenue</th><th>confirmed</th><th>rejected</th><th>conversion</th></tr></thead>
<tbody>${concertRows || '<tr><td colspan="6">no orders yet</td></tr>'}</tbody></table>
</body></html>`;
}

/** A bar per point, the first and last label under the axis, each bar's value in its tooltip. */
function barChart(title: string, points: ReadonlyArray<{ label: string; value: number }>, format: (value: number) => string): string {
  const width = 600;
  const height = 160;
  const top = 16;
  const bottom = 20;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = width / points.length;
  const bars = points
    .map((p, i) => {
      const h = ((height - top - bottom) * p.value) / max;
      const x = (i * step + 1).toFixed(1);
      return `<rect x="${x}" y="${(height - bottom - h).toFixed(1)}" width="${(step - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${escape(p.label)}: ${escape(format(p.value))}</title></rect>`;
    })
    .join('');
  const first = points[0]?.label ?? '';
  const last = points.at(-1)?.label ?? '';
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">${bars}<text x="0" y="${height - 5}">${escape(first)}</text><text x="${width}" y="${height - 5}" text-anchor="end">${escape(last)}</text><text x="0" y="11">max ${escape(format(max))}</text></svg>`;
}

function money(cents: number): string {
  return (cents / 100).toFixed(2);
}

function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${(ratio * 100).toFixed(1)}%`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
