import { afterEach, describe, expect, it } from '@jest/globals';
import { MetricsRegistry, RetryLaterException } from '@boxoffice/platform';
import { waitFor } from '@boxoffice/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import type { CheckoutConfig } from '../checkout.config.js';
import type { LineClosed, WaitingLine } from '../waiting-room/waiting-line.js';
import type { SyncOrderPolicies } from '../orders/sync-order.policies.js';
import { FrontDoor } from './front-door.js';

// The door on a real Fastify instance. POST /orders is held open until the spec releases it, so
// that what is in flight is exactly what the spec says; POST /users answers at once.
describe('the front door', () => {
  let app: FastifyInstance;
  let door: FrontDoor;
  let release: () => void = () => {};
  /** What the waiting line says of its length: the door reads only `closed()`. */
  let lineClosed: LineClosed | null = null;
  const line = { closed: () => lineClosed } as WaitingLine;
  /** What the synchronous path's policies would say now: the door reads only `refusal()`. */
  let syncRefusal: RetryLaterException | null = null;
  const syncPolicies = { refusal: () => syncRefusal } as SyncOrderPolicies;
  let syncHandled = 0;

  async function open(limits: Pick<CheckoutConfig, 'ACCEPT_MAX_IN_FLIGHT' | 'ACCEPT_MAX_EVENT_LOOP_DELAY_MS'>) {
    app = Fastify();
    lineClosed = null;
    syncRefusal = null;
    syncHandled = 0;
    door = new FrontDoor({ ...limits, MAX_WAIT_SECONDS: 300 } as CheckoutConfig, line, syncPolicies, new MetricsRegistry('checkout'));
    door.attach(app);
    const gate = new Promise<void>((resolve) => (release = resolve));
    app.post('/orders', async () => {
      await gate;
      return { placed: true };
    });
    app.post('/users', async () => ({ registered: true }));
    app.post('/orders/sync', async () => ({ charged: ++syncHandled }));
    app.get('/orders/:id', async () => ({ status: 'PENDING' }));
    await app.ready();
  }
  afterEach(async () => {
    release();
    door.onModuleDestroy();
    await app.close();
  });

  const signUp = () => app.inject({ method: 'POST', url: '/users' });

  /** Keeps the event loop busy most of the time until stopped, so that window after window it runs late. */
  function burnCpu(): () => void {
    const burner = setInterval(() => {
      const until = Date.now() + 60;
      while (Date.now() < until);
    }, 5);
    return () => clearInterval(burner);
  }

  it('admits ACCEPT_MAX_IN_FLIGHT purchases and sign-ups together, and answers the next 503 with Retry-After at once', async () => {
    await open({ ACCEPT_MAX_IN_FLIGHT: 2, ACCEPT_MAX_EVENT_LOOP_DELAY_MS: 0 });
    // Promise.resolve sends them now: an injected request goes out when something awaits it.
    const admitted = [1, 2].map(() => Promise.resolve(app.inject({ method: 'POST', url: '/orders' })));
    await waitFor(signUp, (response) => response.statusCode === 503, { description: 'the two purchases to fill the door' });

    const turnedAway = await app.inject({ method: 'POST', url: '/orders' });
    expect(turnedAway.statusCode).toBe(503);
    expect(turnedAway.headers['retry-after']).toBe('1');
    expect(turnedAway.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Checkout is taking 2 purchases and sign-ups at once already; try again',
    });
    // Reading an order is not guarded.
    expect((await app.inject({ method: 'GET', url: '/orders/1' })).statusCode).toBe(200);

    release();
    expect((await Promise.all(admitted)).map((response) => response.statusCode)).toEqual([200, 200]);
    expect((await signUp()).statusCode).toBe(200);
  });

  it('turns sign-ups away while its event loop runs late, window after window, and admits them again once it is calm', async () => {
    await open({ ACCEPT_MAX_IN_FLIGHT: 100, ACCEPT_MAX_EVENT_LOOP_DELAY_MS: 20 });
    const stopBurning = burnCpu();
    const late = await waitFor(signUp, (response) => response.statusCode === 503, {
      timeoutMs: 10_000,
      description: 'the door to close while the loop runs late',
    }).finally(stopBurning);
    expect(late.headers['retry-after']).toBe('1');
    expect(late.json()).toMatchObject({ message: expect.stringMatching(/event loop is running late/) });
    await waitFor(signUp, (response) => response.statusCode === 200, { description: 'the door to open once the loop is calm' });
  });

  it('pays no attention to its event loop when ACCEPT_MAX_EVENT_LOOP_DELAY_MS is 0', async () => {
    await open({ ACCEPT_MAX_IN_FLIGHT: 100, ACCEPT_MAX_EVENT_LOOP_DELAY_MS: 0 });
    const stopBurning = burnCpu();
    await delay(500);
    const response = await signUp().finally(stopBurning);
    expect(response.statusCode).toBe(200);
  });

  it('turns purchases away while the waiting line is closed, with the Retry-After it gives, and still takes sign-ups', async () => {
    await open({ ACCEPT_MAX_IN_FLIGHT: 100, ACCEPT_MAX_EVENT_LOOP_DELAY_MS: 0 });
    lineClosed = { estimatedWaitSeconds: 340, retryAfterSeconds: 40 };
    const turnedAway = await app.inject({ method: 'POST', url: '/orders' });
    expect(turnedAway.statusCode).toBe(503);
    expect(turnedAway.headers['retry-after']).toBe('40');
    expect(turnedAway.json()).toMatchObject({
      message: expect.stringMatching(/line is closed for now: a new buyer would wait about 340 s, longer than 300 s/),
    });
    expect((await signUp()).statusCode).toBe(200);

    lineClosed = null;
    const purchase = app.inject({ method: 'POST', url: '/orders' });
    release();
    expect((await purchase).statusCode).toBe(200);
  });
  it('turns a synchronous purchase away before its handler when its policies would refuse it, with their Retry-After', async () => {
    await open({ ACCEPT_MAX_IN_FLIGHT: 2, ACCEPT_MAX_EVENT_LOOP_DELAY_MS: 0 });
    await expect(app.inject({ method: 'POST', url: '/orders/sync' })).resolves.toMatchObject({ statusCode: 200 });

    syncRefusal = new RetryLaterException('too many synchronous purchases in flight', 3);
    const turnedAway = await app.inject({ method: 'POST', url: '/orders/sync' });
    expect(turnedAway.statusCode).toBe(503);
    expect(turnedAway.headers['retry-after']).toBe('3');
    expect(turnedAway.json()).toMatchObject({ statusCode: 503, message: 'too many synchronous purchases in flight' });
    expect(syncHandled).toBe(1);
    // Its own bound: it takes no place of POST /orders' and POST /users'.
    await expect(signUp()).resolves.toMatchObject({ statusCode: 200 });
  });
});
