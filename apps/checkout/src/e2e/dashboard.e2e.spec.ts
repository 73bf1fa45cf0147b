import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CheckoutApi } from './checkout-api.js';

const ORDERS = 150;

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when it is missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('the live dashboard, opened in a browser during a sale', () => {
  const system = new TestSystem();
  let checkout: CheckoutApi;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // Billing drains slowly (25 jobs/s), so the buffer visibly fills and then empties.
    const [checkoutProcess] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { BILLING_MAX_RATE: '25', PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await system.teardown();
  });

  /** The figures as the page shows them, read from the DOM like a person reads the screen. */
  const shown = async () => {
    const figure = async (id: string) => {
      const text = (await page.textContent(`#${id}`))?.replace(/,/g, '') ?? '';
      return /^\d+$/.test(text) ? Number(text) : null;
    };
    return {
      accepted: await figure('accepted-per-second'),
      processed: await figure('processed-per-second'),
      queue: await figure('queue-depth'),
      confirmed: await figure('orders-confirmed'),
      total: await figure('orders-total'),
    };
  };

  it('shows the orders arrive, the charge queue fill and drain, and the orders settle', async () => {
    const concertId = await checkout.scheduleConcert(1_000);
    await page.goto(`${checkout.url}/dashboard`);
    await expect(page.title()).resolves.toBe('boxoffice · ticket sale');
    await waitFor(shown, (s) => s.total === 0 && s.queue !== null, { description: 'the first figures on the page' });

    const placing = checkout.placeOrders(concertId, ORDERS);
    // What someone watching sees, second by second, until every order is confirmed.
    const seen: Array<Awaited<ReturnType<typeof shown>>> = [];
    await waitFor(
      async () => {
        seen.push(await shown());
        return seen.at(-1)!;
      },
      (s) => s.confirmed === ORDERS && s.queue === 0,
      { timeoutMs: 40_000, intervalMs: 250, description: `the page to show ${ORDERS} confirmed orders and an empty queue` },
    );
    await placing;

    expect(Math.max(...seen.map((s) => s.accepted ?? 0))).toBeGreaterThan(0);
    expect(Math.max(...seen.map((s) => s.queue ?? 0))).toBeGreaterThan(0);
    expect(Math.max(...seen.map((s) => s.processed ?? 0))).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ total: ORDERS, confirmed: ORDERS, queue: 0 });
    // The charts are drawn from the same figures: a polyline per series once there is history.
    await expect(page.locator('#queue-chart polyline').count()).resolves.toBe(1);
  });
});
