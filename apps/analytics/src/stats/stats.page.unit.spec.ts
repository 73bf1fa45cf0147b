import { describe, expect, it } from '@jest/globals';
import type { Stats } from './stats.js';
import { renderStatsPage } from './stats.page.js';

const stats: Stats = {
  signups: {
    total: 7,
    byDay: [
      { day: '2026-11-26', signups: 3 },
      { day: '2026-11-27', signups: 4 },
    ],
  },
  sales: {
    tickets: 5,
    revenueCents: 22_500,
    confirmed: 3,
    rejected: 1,
    declined: 1,
    conversion: 0.75,
    byDay: [{ day: '2026-11-27', tickets: 5, revenueCents: 22_500, confirmed: 3, rejected: 1, declined: 1, conversion: 0.75 }],
  },
  concerts: [
    {
      concertId: '0194f0c2-7f6e-7c3a-9d55-000000000001',
      concertName: '<script>alert(1)</script>',
      tickets: 5,
      revenueCents: 22_500,
      confirmed: 3,
      rejected: 1,
      conversion: 0.75,
    },
  ],
};

describe('the stats page', () => {
  const html = renderStatsPage(stats, new Date('2026-11-27T12:00:00Z'));

  it('shows the headline figures', () => {
    expect(html).toContain('<b>7</b>sign-ups');
    expect(html).toContain('<b>225.00</b>revenue');
    expect(html).toContain('<b>75.0%</b>conversion');
  });

  it('draws a bar per day of the last 30 in each chart, inline', () => {
    const charts = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(charts).toHaveLength(2);
    for (const chart of charts) expect(chart.match(/<rect /g)).toHaveLength(30);
    expect(charts[0]).toContain('<title>2026-11-27: 4</title>');
  });

  it('loads nothing from anywhere else', () => {
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toContain('<script');
  });

  it('escapes what came from events, such as a concert name', () => {
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
