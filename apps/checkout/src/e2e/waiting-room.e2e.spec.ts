import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { chromium, type Browser } from 'playwright-core';
import { CheckoutApi } from './checkout-api.js';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when it is missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Billing's pace here: slow, so that a line forms and moves visibly. */
const BILLING_RATE = 20;
/** The longest a new buyer may be asked to wait: 4 s at 20/s is a line of about 80. */
const MAX_WAIT_SECONDS = 4;

type ServerSentEvent = { event: string; data: Record<string, unknown> };

/** Follows a Server-Sent Events stream to its end, as a buyer's page does, keeping every event. */
async function follow(url: string): Promise<ServerSentEvent[]> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: ServerSentEvent[] = [];
  let buffered = '';
  for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
  return events;
}

describe('the waiting room: a buyer’s place in line, live, and a line that closes when it is too long', () => {
  const system = new TestSystem();
  /** A Checkout that closes the line past MAX_WAIT_SECONDS. */
  let strict: CheckoutApi;
  /** Another instance of the same Checkout (one database, one line) that lets buyers wait five minutes: the cases that need a line to stay open. */
  let checkout: CheckoutApi;
  let concertId: string;

  beforeAll(async () => {
    const [strictProcess, checkoutProcess] = await Promise.all([
      system.start('checkout', { MAX_WAIT_SECONDS: String(MAX_WAIT_SECONDS), WAITING_LINE_REFRESH_MS: '200' }),
      system.start('checkout', { WAITING_LINE_REFRESH_MS: '200' }),
      system.start('billing', { BILLING_MAX_RATE: String(BILLING_RATE), PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    strict = new CheckoutApi(strictProcess.url);
    checkout = new CheckoutApi(checkoutProcess.url);
    concertId = await checkout.scheduleConcert(10_000);
    // The first order settles once Billing has heard of the concert: the line starts from there.
    const [first] = await checkout.placeOrders(concertId, 1);
    await waitFor(
      () => checkout.order(first),
      (order) => order.status === 'CONFIRMED',
      { timeoutMs: 30_000, description: 'a first order to be confirmed' },
    );
  });
  afterAll(async () => {
    await system.teardown();
  });

  it('closes the line to new buyers with 503 and a Retry-After from the drain rate, and opens it again as the line moves', async () => {
    // Buyers arrive faster than Billing's 20/s until the line would keep the next one more than four seconds.
    let closed: Response | undefined;
    for (let placed = 0; !closed && placed < 3_000; placed += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => strict.placeOrder(concertId, 1)));
      expect(answers.every((answer) => answer.status === 202 || answer.status === 503)).toBe(true);
      closed = answers.find((answer) => answer.status === 503);
    }
    expect(closed).toBeDefined();
    // Come back when the line, at the rate it moves, is short enough again: the wait less the limit.
    const { message } = (await closed!.json()) as { message: string };
    const [, wait] = /line is closed for now: a new buyer would wait about (\d+) s, longer than 4 s/.exec(message) ?? [];
    expect(Number(wait)).toBeGreaterThan(MAX_WAIT_SECONDS);
    expect(closed!.headers.get('retry-after')).toBe(String(Math.max(1, Number(wait) - MAX_WAIT_SECONDS)));
    // The other instance, with a limit of five minutes, still takes buyers into the same line.
    expect((await checkout.placeOrder(concertId, 1)).status).toBe(202);

    const reopened = await waitFor(
      () => strict.placeOrder(concertId, 1),
      (response) => response.status === 202,
      { timeoutMs: 120_000, intervalMs: 500, description: 'the line to open again' },
    );
    const { estimatedWaitSeconds } = (await reopened.json()) as { estimatedWaitSeconds: number };
    // Admitted again, by an estimate within the limit.
    expect(estimatedWaitSeconds).toBeLessThanOrEqual(MAX_WAIT_SECONDS);
  });

  it('streams a buyer’s place as it falls, never up, then the outcome, and ends', async () => {
    // Wait for the line to be short enough to join, then put 60 buyers ahead of the one followed.
    await waitFor(
      () => checkout.stats(),
      (stats) => stats.orders.PENDING === 0,
      { timeoutMs: 120_000, description: 'the line from the last case to drain' },
    );
    await checkout.placeOrders(concertId, 60, 20);
    const response = await checkout.placeOrder(concertId, 1);
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { orderId: string; position: number; eventsUrl: string };
    expect(accepted.position).toBeGreaterThan(20);

    const reading = await (await fetch(`${checkout.url}/orders/${accepted.orderId}`)).json();
    expect(reading).toMatchObject({ status: 'PENDING', position: expect.any(Number) });

    const events = await follow(`${checkout.url}${accepted.eventsUrl}`);
    const places = events
      .filter((e) => e.event === 'place')
      .map((e) => e.data as { position: number; estimatedWaitSeconds: number | null });
    const positions = places.map((p) => p.position);
    expect(positions.length).toBeGreaterThanOrEqual(3);
    // Falls, and never goes up.
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeLessThanOrEqual(positions[i - 1]);
    expect(positions[0]).toBeGreaterThan(positions.at(-1)!);
    expect(places.some((p) => typeof p.estimatedWaitSeconds === 'number')).toBe(true);
    // The last word is the outcome, and then the stream ended (follow returned).
    expect(events.at(-1)).toEqual({ event: 'outcome', data: expect.objectContaining({ orderId: accepted.orderId, status: 'CONFIRMED' }) });
    expect(events.filter((e) => e.event === 'outcome')).toHaveLength(1);
  });

  it('tells a buyer who follows a settled order its outcome at once', async () => {
    const [orderId] = await checkout.placeOrders(concertId, 1);
    await waitFor(
      () => checkout.order(orderId),
      (order) => order.status !== 'PENDING',
      { timeoutMs: 30_000, description: 'the order to settle' },
    );
    const events = await follow(`${checkout.url}/orders/${orderId}/events`);
    expect(events).toEqual([{ event: 'outcome', data: expect.objectContaining({ orderId, status: 'CONFIRMED' }) }]);
    expect((await fetch(`${checkout.url}/orders/01890000-0000-7000-8000-000000000000/events`)).status).toBe(404);
  });

  describe('the buyer’s page, opened in a browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows the place in line and the estimated wait, then the outcome, with no script refused', async () => {
      // Ten seconds of line ahead at Billing's 20/s: time enough for a browser on a loaded machine to open the page first.
      await checkout.placeOrders(concertId, 200, 20);
      const response = await checkout.placeOrder(concertId, 1);
      expect(response.status).toBe(202);
      const { orderId, pageUrl } = (await response.json()) as { orderId: string; pageUrl: string };
      const page = await browser.newPage();
      const refused: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
      });
      await page.goto(`${checkout.url}${pageUrl}`);
      await expect(page.title()).resolves.toBe('boxoffice · your order');

      const ahead = await waitFor(
        async () => Number((await page.textContent('#position'))?.replace(/,/g, '')),
        (n) => Number.isInteger(n) && n > 0,
        { description: 'the page to show the place in line' },
      );
      await waitFor(
        () => page.textContent('#outcome'),
        (text) => /^Confirmed/.test(text ?? ''),
        { timeoutMs: 60_000, description: `the page to show order ${orderId} confirmed (it started ${ahead} from the front)` },
      );
      await expect(page.isVisible('#outcome')).resolves.toBe(true);
      await expect(page.textContent('#position')).resolves.toBe('0');
      expect(refused).toEqual([]);
      await page.close();
    });
  });
});
