// The buyers and the new users of a chaos cell: purchases and sign-ups at a steady rate, each
// asked again until it is answered, the way a well-behaved client does, and every attempt's fate
// counted. What a client must never meet is a request with no HTTP answer at all (a reset, a
// hang-up, a timeout) while Checkout is running: a 503 with Retry-After is an answer, and the
// client comes back when it says.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, errors } from 'undici';

export interface FlowTally {
  /** Order ids Checkout answered 202 for. */
  readonly accepted: string[];
  /** Purchases turned away at the door once the seats were all taken (409 SOLD_OUT): answered, no order. */
  soldOut: number;
  /** Sign-ups Checkout answered 202 (or 409: the first answer was lost) for. */
  readonly signedUp: string[];
  /** Attempts answered 503 with Retry-After, and without it (a client cannot tell when to come back). */
  retryAfter503: number;
  without503RetryAfter: number;
  /** Attempts answered with another status than the one awaited, by status (a 500 is a bug to a client). */
  readonly otherStatuses: Record<string, number>;
  /** Attempts without an HTTP answer while Checkout was running: refused, reset, hung up or timed out. */
  noAnswer: number;
  readonly noAnswerKinds: Record<string, number>;
  /** When the first and the last attempt without an answer were sent, in seconds after the flow started. */
  noAnswerSentAt?: { first: number; last: number };
  /** Attempts without an answer while the bench had Checkout down (SIGKILLed, not yet accepting). */
  noAnswerWhileDown: number;
  /** Requests still unanswered when the flow gave up on them. */
  gaveUp: number;
}

/** How often arrivals are sent: fine enough for 45 a second to arrive as a stream. */
const TICK_MS = 10;

export interface FlowOptions {
  readonly ordersPerSecond: number;
  readonly signUpsPerSecond: number;
  /** An attempt not answered by then counts as without an answer. */
  readonly answerTimeoutMs: number;
}

/** A JSON POST asked until Checkout answers `ok` (or `done`), with the Idempotency-Key of the first attempt. */
interface Ask {
  readonly path: string;
  readonly body: unknown;
  readonly ok: number;
  readonly done?: number;
  readonly headers?: Record<string, string>;
}

export class ChaosFlow {
  readonly tally: FlowTally = {
    accepted: [],
    signedUp: [],
    retryAfter503: 0,
    without503RetryAfter: 0,
    otherStatuses: {},
    soldOut: 0,
    noAnswer: 0,
    noAnswerKinds: {},
    noAnswerWhileDown: 0,
    gaveUp: 0,
  };
  /** Set by a fault while it has Checkout down: a request failing then is expected to. */
  checkoutDown = false;
  private flowing = false;
  private startedAt = performance.now();
  private giveUpAt = Infinity;
  private running: Promise<unknown> = Promise.resolve();
  private readonly agent: Agent;

  constructor(
    private readonly checkoutUrl: () => string,
    private readonly options: FlowOptions,
  ) {
    this.agent = new Agent({ connect: { timeout: options.answerTimeoutMs } });
  }

  /** Starts the purchases of tickets to `concertId` and the sign-ups; `stop` ends them. */
  start(concertId: string): void {
    this.flowing = true;
    this.startedAt = performance.now();
    let purchases = 0;
    this.running = Promise.all([
      this.steady(this.options.ordersPerSecond, async () => {
        const quantity = 1 + (purchases++ % 2);
        const order = await this.ask({
          path: '/orders',
          body: { concertId, quantity, customerEmail: 'buyer@example.com' },
          ok: 202,
          done: 409,
          headers: { 'idempotency-key': randomUUID() },
        });
        if (order?.orderId) this.tally.accepted.push(order.orderId);
        else if (order) this.tally.soldOut += 1;
      }),
      this.steady(this.options.signUpsPerSecond, async () => {
        const email = `${randomUUID()}@example.com`;
        if (await this.ask({ path: '/users', body: { email, name: 'Chaos' }, ok: 202, done: 409 })) this.tally.signedUp.push(email);
      }),
    ]);
  }

  /** No new requests; those still unanswered are asked again until `giveUpAfterMs`, then counted as given up. */
  async stop(giveUpAfterMs: number): Promise<FlowTally> {
    this.flowing = false;
    this.giveUpAt = Math.min(this.giveUpAt, Date.now() + giveUpAfterMs);
    await this.running;
    if (!this.agent.closed) await this.agent.close();
    return this.tally;
  }

  /** Asks until answered as awaited; undefined if it gave up. */
  async ask({ path, body, ok, done, headers = {} }: Ask): Promise<Record<string, string> | undefined> {
    for (let attempt = 0; Date.now() < this.giveUpAt; attempt++) {
      const wasDown = this.checkoutDown;
      const sentAt = Math.round((performance.now() - this.startedAt) / 100) / 10;
      let wait = Math.min(1_000, 50 * 2 ** attempt);
      try {
        const url = new URL(path, this.checkoutUrl());
        const response = await this.agent.request({
          origin: url.origin,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
          headersTimeout: this.options.answerTimeoutMs,
          bodyTimeout: this.options.answerTimeoutMs,
        });
        const text = await response.body.text();
        if (response.statusCode === ok || response.statusCode === done) return text ? (JSON.parse(text) as Record<string, string>) : {};
        const retryAfter = Number(response.headers['retry-after']);
        if (response.statusCode === 503 && retryAfter > 0) {
          this.tally.retryAfter503 += 1;
          wait = Math.min(5_000, retryAfter * 1_000);
        } else if (response.statusCode === 503) this.tally.without503RetryAfter += 1;
        else this.tally.otherStatuses[response.statusCode] = (this.tally.otherStatuses[response.statusCode] ?? 0) + 1;
      } catch (error) {
        if (wasDown || this.checkoutDown) this.tally.noAnswerWhileDown += 1;
        else {
          this.tally.noAnswer += 1;
          const kind = kindOf(error);
          this.tally.noAnswerKinds[kind] = (this.tally.noAnswerKinds[kind] ?? 0) + 1;
          const seen = this.tally.noAnswerSentAt ?? { first: sentAt, last: sentAt };
          this.tally.noAnswerSentAt = { first: Math.min(seen.first, sentAt), last: Math.max(seen.last, sentAt) };
        }
      }
      await delay(wait);
    }
    this.tally.gaveUp += 1;
    return undefined;
  }

  /**
   * Fires `request` `perSecond` times a second while flowing, without waiting for the answers.
   * The arrivals follow the clock, not the timer: a timer that fires late (this process shares two
   * busy cores) sends the arrivals that fell due meanwhile, so the rate offered stays the rate set.
   */
  private async steady(perSecond: number, request: () => Promise<void>): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    for (let fired = 0; this.flowing; await delay(TICK_MS)) {
      const due = Math.floor(((performance.now() - started) / 1_000) * perSecond);
      for (; fired < due; fired++) {
        const sent = request().finally(() => inFlight.delete(sent));
        inFlight.add(sent);
      }
    }
    await Promise.all(inFlight);
  }
}

function kindOf(error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || error instanceof errors.SocketError) return 'reset';
  return code || (error as Error).name || 'error';
}
