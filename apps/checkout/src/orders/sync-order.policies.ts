import { GatewayTimeoutException, HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import {
  BrokenCircuitError,
  bulkhead,
  BulkheadRejectedError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import { RetryLaterException } from '@boxoffice/platform';

/** What a full bulkhead asks a client to wait: a slot frees as soon as one call ends. */
const BULKHEAD_RETRY_AFTER_SECONDS = 1;

/**
 * The synchronous purchase fails fast. Without these policies, 1,000 buyers a second against a
 * Billing that charges 250 a second pile up inside Checkout: each holds a socket, a fetch and, at
 * the end, a database connection, until Checkout answers nobody in time (and POST /orders, in the
 * same process, starves with it). docs/patterns/sync-vs-async.md has the figures. With them, from the outside in (cockatiel's policies, composed here):
 *
 *   deadline   the whole request, queueing and the database included, ends by SYNC_TIMEOUT_MS
 *              (504); the work's signal is aborted then, so a Billing call in flight is dropped
 *   circuit    open after SYNC_BREAKER_FAILURES Billing failures in a row: 503 at once, with
 *              Retry-After, before any work; after SYNC_BREAKER_HALF_OPEN_MS one probe goes
 *              through, and its outcome closes or reopens the circuit
 *   bulkhead   SYNC_BULKHEAD_SIZE purchases in flight, SYNC_BULKHEAD_QUEUE waiting; beyond,
 *              503 with Retry-After at once, having cost Checkout next to nothing
 *
 * The breaker itself wraps only the call to Billing (`callBilling`), so that what it counts is
 * Billing's health: an unknown concert, a replayed Idempotency-Key or a full bulkhead is no
 * failure of Billing's. https://github.com/connor4312/cockatiel
 */
@Injectable()
export class SyncOrderPolicies {
  private readonly logger = new Logger(SyncOrderPolicies.name);
  private readonly bulkhead: BulkheadPolicy;
  private readonly breaker: CircuitBreakerPolicy;
  /** When the circuit last opened: cockatiel keeps it to itself, and Retry-After needs it. */
  private openedAt = 0;

  constructor(@Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig) {
    this.bulkhead = bulkhead(config.SYNC_BULKHEAD_SIZE, config.SYNC_BULKHEAD_QUEUE);
    // What Billing failing looks like from here: BillingClient's 503 (unreachable, a 5xx answer)
    // and 504 (no answer by the deadline). A 4xx of ours, say 404 for an unknown concert, is not.
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof HttpException && error.getStatus() >= 500),
      { breaker: new ConsecutiveBreaker(config.SYNC_BREAKER_FAILURES), halfOpenAfter: config.SYNC_BREAKER_HALF_OPEN_MS },
    );
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
      this.logger.warn(`circuit to Billing open: 503 for ${config.SYNC_BREAKER_HALF_OPEN_MS} ms, then one probe`);
    });
    this.breaker.onHalfOpen(() => this.logger.log('circuit to Billing half-open: probing'));
    this.breaker.onReset(() => this.logger.log('circuit to Billing closed'));
  }

  get enabled(): boolean {
    return this.config.SYNC_POLICIES === 'on';
  }

  /** The circuit's state, for logs and tests: closed, open or half-open (a probe in flight). */
  get circuit(): 'closed' | 'open' | 'half-open' {
    const state = this.breaker.state;
    return state === CircuitState.HalfOpen ? 'half-open' : state === CircuitState.Open ? 'open' : 'closed';
  }

  /**
   * Runs one synchronous purchase under the policies. `work` gets the deadline as a signal to hand
   * to the Billing call. `elapsedMs` is how long the request has been in Checkout already (parsing,
   * validation): the deadline counts from its arrival, not from here.
   *
   * At the deadline the buyer gets a 504 while the work may still be finishing: a charge Billing
   * has taken is still written, and the same Idempotency-Key asked again answers with that order.
   * Its bulkhead slot stays taken until then, so the bulkhead bounds the work, not the answers.
   */
  async run<T>(work: (deadline: AbortSignal) => Promise<T>, elapsedMs = 0): Promise<T> {
    if (!this.enabled) return work(AbortSignal.timeout(this.config.SYNC_TIMEOUT_MS));
    const remainingMs = this.config.SYNC_TIMEOUT_MS - elapsedMs;
    if (remainingMs <= 0) throw this.deadlinePassed();
    this.refuseWhileOpen();
    // A purchase that waits for a slot is started by the one whose end frees it: bound to this
    // request's context, it runs in its own trace, with its own trace id in the log lines.
    const ownWork = AsyncResource.bind(work);
    try {
      // Aggressive: the answer comes at the deadline whether or not the work listens to its signal.
      return await timeout(remainingMs, TimeoutStrategy.Aggressive).execute(({ signal }) =>
        this.bulkhead.execute(() => ownWork(signal), signal),
      );
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw this.bulkheadFull();
      if (error instanceof TaskCancelledError) throw this.deadlinePassed();
      if (error instanceof BrokenCircuitError) throw this.circuitOpen();
      throw error;
    }
  }

  /**
   * Why a synchronous purchase arriving now would be refused before any work, or null: an open
   * circuit, or a bulkhead with every slot taken and its queue full. The front door asks before
   * the body is read (FrontDoor), so that refusing the excess of a flood costs next to nothing
   * and leaves the CPU to the purchases in flight; `run` still decides for those let through.
   */
  refusal(): RetryLaterException | null {
    if (!this.enabled) return null;
    if (this.isOpen()) return this.circuitOpen();
    return this.bulkhead.executionSlots === 0 && this.bulkhead.queueSlots === 0 ? this.bulkheadFull() : null;
  }

  /** One call to Billing, through the circuit breaker: its outcome is what the breaker counts. */
  async callBilling<T>(call: () => Promise<T>, deadline: AbortSignal): Promise<T> {
    if (!this.enabled) return call();
    return this.breaker.execute(call, deadline);
  }

  /**
   * An open circuit answers before the bulkhead and before any database work. cockatiel would
   * make callers wait for a half-open probe's outcome; here they are refused at once instead, so
   * that only the probe waits on Billing.
   */
  private refuseWhileOpen(): void {
    if (this.isOpen()) throw this.circuitOpen();
  }

  /** Open, or half-open with its probe in flight: a caller now is refused. */
  private isOpen(): boolean {
    const state = this.breaker.state;
    const probeDueAt = this.openedAt + this.config.SYNC_BREAKER_HALF_OPEN_MS;
    return state === CircuitState.HalfOpen || (state === CircuitState.Open && Date.now() < probeDueAt);
  }

  private bulkheadFull(): RetryLaterException {
    return new RetryLaterException(
      `too many synchronous purchases in flight (${this.config.SYNC_BULKHEAD_SIZE}, ${this.config.SYNC_BULKHEAD_QUEUE} waiting); POST /orders accepts at once`,
      BULKHEAD_RETRY_AFTER_SECONDS,
    );
  }

  private circuitOpen(): RetryLaterException {
    const untilProbeMs = this.openedAt + this.config.SYNC_BREAKER_HALF_OPEN_MS - Date.now();
    return new RetryLaterException(
      'billing is failing: the circuit is open, POST /orders/sync refuses at once until a probe succeeds; POST /orders accepts meanwhile',
      Math.max(1, Math.ceil(untilProbeMs / 1_000)),
    );
  }

  private deadlinePassed(): GatewayTimeoutException {
    return new GatewayTimeoutException(
      `the purchase did not complete within ${this.config.SYNC_TIMEOUT_MS} ms; ask again with the same Idempotency-Key to learn how it ended`,
    );
  }
}
