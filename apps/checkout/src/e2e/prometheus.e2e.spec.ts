import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { queues } from '@boxoffice/contracts';
import { PrometheusProcess, TestSystem } from '@boxoffice/e2e';
import { metricNames } from '@boxoffice/platform';
import { waitFor } from '@boxoffice/testing';
import { readFileSync } from 'node:fs';
import { CheckoutApi } from './checkout-api.js';

/** Billing's rate for the whole service: slow enough that a burst visibly queues up. */
const RATE = 20;
const BURST = 300;

describe('a real Prometheus scraping Checkout and Billing', () => {
  const system = new TestSystem();
  const chargeQueue = system.routing.nameOf(queues.chargeOrder);
  let prometheus: PrometheusProcess;
  let checkout: CheckoutApi;

  beforeAll(async () => {
    const [checkoutProcess, billingProcess] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { BILLING_MAX_RATE: String(RATE), PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
    prometheus = await PrometheusProcess.start([
      { job: 'checkout', url: checkoutProcess.url },
      { job: 'billing', url: billingProcess.url },
    ]);
    await waitFor(
      () => prometheus.query('up == 1'),
      (up) => up.length === 2,
      { timeoutMs: 30_000, intervalMs: 250, description: 'both targets scraped and up' },
    );
  }, 120_000);
  afterAll(async () => {
    await prometheus?.stop();
    await system.teardown();
  });

  /** Both services report the charge queue (Checkout sends to it, Billing drains it): one figure. */
  const depth = `max(${metricNames.channelDepth}{messaging_destination_name="${chargeQueue}"})`;

  it('sees the charge queue rise during a burst of purchases and fall as Billing drains it at its configured rate', async () => {
    await expect(prometheus.scalar(`max(${metricNames.commandRateConfigured}{job="billing"})`)).resolves.toBe(RATE);
    const concertId = await checkout.scheduleConcert(BURST);
    await checkout.placeOrders(concertId, BURST, 25);

    // At 20 a second, 300 charges take 15 s: the queue must stand well above zero for several scrapes.
    const risen = await waitFor(
      () => prometheus.scalar(depth),
      (value) => value !== null && value >= BURST / 3,
      {
        timeoutMs: 30_000,
        intervalMs: 250,
        description: `Prometheus to see the charge queue at ${BURST / 3} or more`,
      },
    );
    expect(risen).toBeGreaterThanOrEqual(BURST / 3);

    await waitFor(
      () => prometheus.scalar(depth),
      (value) => value === 0,
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        description: 'Prometheus to see the charge queue drained',
      },
    );
    // Everything was accepted, and every order settled, as Prometheus counted them.
    await waitFor(
      () => prometheus.scalar(`sum(${metricNames.ordersSettled})`),
      (value) => value === BURST,
      {
        timeoutMs: 20_000,
        intervalMs: 500,
        description: `${BURST} settled orders in Prometheus`,
      },
    );
    await expect(prometheus.scalar(`sum(${metricNames.ordersAccepted})`)).resolves.toBe(BURST);

    // Prometheus' own record of the drain: the queue stood high, and Billing took the charges at
    // about the configured rate, never much faster (the drain rate against the configured rate).
    const peak = await prometheus.scalar(`max_over_time(${depth}[2m:1s])`);
    expect(peak).toBeGreaterThanOrEqual(BURST / 3);
    const drained = `sum(rate(${metricNames.consumedMessages}{job="billing",messaging_destination_name="${chargeQueue}",outcome="done"}[10s]))`;
    const fastest = await prometheus.scalar(`max_over_time(${drained}[2m:1s])`);
    expect(fastest).toBeGreaterThan(RATE / 3);
    expect(fastest).toBeLessThan(RATE * 1.5);
    // And the limiter made the burst wait: that is where the levelling shows.
    await expect(prometheus.scalar(`sum(${metricNames.rateLimiterWait})`)).resolves.toBeGreaterThan(1);
  }, 180_000);

  it("accepts every PromQL expression of the Grafana dashboard, and answers the ticket sale's panels with data", async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../../observability/grafana/dashboards/ticket-sale.json', import.meta.url), 'utf8'),
    ) as {
      panels: Array<{ title: string; targets?: Array<{ expr?: string }> }>;
    };
    const queries = dashboard.panels.flatMap(({ title, targets = [] }) =>
      targets.filter(({ expr }) => expr).map(({ expr }) => ({ title, expr: expr!.replaceAll('$__rate_interval', '30s') })),
    );
    expect(queries.length).toBeGreaterThan(15);
    const answered = await Promise.all(
      queries.map(async ({ title, expr }) => ({ title, expr, series: (await prometheus.query(expr)).length })),
    );
    // A refused expression throws above; these panels must also show something after the burst.
    for (const wanted of [
      'Accept rate',
      'Charge queue depth',
      'Drain rate against the configured rate',
      'Consumer lag per group',
      'Outbox backlog',
    ]) {
      expect({ wanted, series: answered.filter(({ title }) => title === wanted).some(({ series }) => series > 0) }).toEqual({
        wanted,
        series: true,
      });
    }
  }, 60_000);
});
