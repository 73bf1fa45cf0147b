import { describe, expect, it } from '@jest/globals';
import { MessagingInstruments, MetricsRegistry, metricLabels, metricNames } from '@boxoffice/platform';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';

// The ticket-sale dashboard Grafana is provisioned with (docker-compose.yml, lgtm): every
// PromQL expression in it names only series the services export, read from the registry code
// (libs/platform's metricNames and the histograms MessagingInstruments registers), so renaming
// a metric fails here rather than leaving a panel empty. Whether Prometheus parses each
// expression is checked against a real one in apps/checkout/src/e2e/prometheus.e2e.spec.ts.

interface Target {
  refId: string;
  datasource?: { type: string; uid: string };
  expr?: string;
  query?: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(path.join(repoRoot, 'observability/grafana/dashboards/ticket-sale.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
};
const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
const promql = panels.flatMap((panel) =>
  (panel.targets ?? []).filter((target) => target.datasource?.uid === 'prometheus').map((target) => ({ panel: panel.title, ...target })),
);

/** Series from elsewhere: Prometheus' own, and RabbitMQ's plugin (scraped as job rabbitmq-queues). */
const EXTERNAL_SERIES = ['up', 'rabbitmq_detailed_queue_messages_ready'];
/** Labels Prometheus adds (job, instance), the registry's default (service), histograms' le, and each metric's own. */
const LABELS = new Set([
  ...Object.values(metricLabels),
  ...['job', 'instance', 'service', 'le', 'outcome', 'handler', 'path', 'status', 'reason', 'store', 'source'],
  ...['queue', 'vhost'], // RabbitMQ's
]);
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The series a histogram exposes, from the histograms the instruments register. */
async function exportedSeries(): Promise<Set<string>> {
  const metrics = new MetricsRegistry('spec');
  new MessagingInstruments(metrics.registry);
  const histograms = (await metrics.registry.getMetricsAsJSON())
    .filter((metric) => String(metric.type) === 'histogram')
    .map(({ name }) => name);
  return new Set([
    ...Object.values(metricNames),
    ...histograms.flatMap((name) => [`${name}_bucket`, `${name}_sum`, `${name}_count`]),
    ...EXTERNAL_SERIES,
  ]);
}

/** The series names of an expression: identifiers that are not functions, keywords, labels, strings or durations. */
function seriesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '');
  return [...bare.matchAll(/(?<![\w$:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)]
    .map((match) => match[1]!)
    .filter((name) => !KEYWORDS.has(name.toLowerCase()));
}

/** The label names an expression and its legend use: matchers, by/without lists, {{label}}. */
function labelsOf(expr: string, legend = ''): string[] {
  const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((match) =>
    [...match[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!),
  );
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((match) =>
    match[1]!.split(',').map((label) => label.trim()),
  );
  const legends = [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1]!);
  return [...matchers, ...grouping, ...legends];
}

describe('the ticket-sale dashboard', () => {
  it('has the panels the issue asks for, each with a query', () => {
    const titles = panels.map((panel) => panel.title);
    for (const wanted of [
      /accept rate/i,
      /charge queue depth/i,
      /drain rate against the configured rate/i,
      /lag per (consumer )?group/i,
      /outbox backlog/i,
      /dead letters/i,
      /trace search/i,
      // Before anything expires: lag in time and the oldest dead letter, each against its retention.
      /^consumer lag in time$/i,
      /consumer lag in time against retention/i,
      /oldest dead letter and oldest parked outbox row/i,
      /oldest dead letter against retention/i,
    ]) {
      expect(titles).toContainEqual(expect.stringMatching(wanted));
    }
    for (const panel of panels)
      expect({ panel: panel.title, queries: (panel.targets ?? []).length > 0 }).toEqual({ panel: panel.title, queries: true });
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  });

  it('uses only the data sources otel-lgtm provisions', () => {
    for (const panel of panels) {
      for (const source of [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]) {
        expect({ panel: panel.title, source }).toEqual({
          panel: panel.title,
          source: expect.objectContaining({ uid: expect.stringMatching(/^(prometheus|tempo)$/) }),
        });
      }
    }
    const traces = panels.find((panel) => /trace search/i.test(panel.title))!;
    expect(traces.targets).toContainEqual(
      expect.objectContaining({ datasource: { type: 'tempo', uid: 'tempo' }, query: expect.stringContaining('checkout') }),
    );
  });

  it('names in its PromQL only series the services export', async () => {
    const exported = await exportedSeries();
    expect(promql.length).toBeGreaterThan(15);
    const unknown = promql.flatMap(({ panel, expr = '' }) =>
      seriesOf(expr)
        .filter((name) => !exported.has(name))
        .map((name) => ({ panel, name })),
    );
    expect(unknown).toEqual([]);
    // And every metric the issue lists is on the dashboard.
    const used = new Set(promql.flatMap(({ expr = '' }) => seriesOf(expr)));
    for (const name of [
      metricNames.ordersAccepted,
      metricNames.channelDepth,
      metricNames.consumedMessages,
      metricNames.commandRateConfigured,
      metricNames.consumerLag,
      metricNames.outboxPending,
      metricNames.deadLetters,
      metricNames.consumerLagAge,
      metricNames.channelRetention,
      metricNames.deadLetterOldestAge,
      metricNames.deadLetterRetention,
      metricNames.outboxParked,
      metricNames.outboxOldestParkedAge,
    ]) {
      expect(used).toContain(name);
    }
  });

  it('groups and filters only by labels those series carry', () => {
    const unknown = promql.flatMap(({ panel, expr = '', legendFormat }) =>
      labelsOf(expr, legendFormat)
        .filter((label) => !LABELS.has(label))
        .map((label) => ({ panel, label })),
    );
    expect(unknown).toEqual([]);
  });

  it('would notice a renamed metric', () => {
    expect(seriesOf('sum by (service) (rate(boxoffice_orders_acepted_total{path="async"}[$__rate_interval]))')).toEqual([
      'boxoffice_orders_acepted_total',
    ]);
    expect(labelsOf('max by (servce) (x{messaging_system="kafka"})', '{{store}}')).toEqual(['messaging_system', 'servce', 'store']);
  });
});
