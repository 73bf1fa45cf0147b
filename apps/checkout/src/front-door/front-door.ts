import { MetricsRegistry, metricNames } from '@boxoffice/platform';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge } from 'prom-client';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import { SyncOrderPolicies } from '../orders/sync-order.policies.js';
import { WaitingLine } from '../waiting-room/waiting-line.js';

/** A place frees as soon as one commit ends, a few hundred milliseconds at most: one second is plenty. */
const RETRY_AFTER_SECONDS = 1;
/** The routes it guards: taking a purchase or a sign-up, the work a crowd brings. */
const GUARDED = new Set(['POST /orders', 'POST /users']);
/**
 * The synchronous purchase has bounds of its own (SyncOrderPolicies: bulkhead, circuit); turned
 * away here when they would refuse it anyway, before its body is read or Nest routes it.
 */
const SYNC_ROUTE = 'POST /orders/sync';
/** How often the event loop's delay is read (the mean over the window just ended). */
const DELAY_WINDOW_MS = 100;
/**
 * Windows in a row the loop must run late before the door closes for that reason: a garbage
 * collection, a burst of JIT compiling or a neighbour process taking the CPU for a moment is no
 * overload, a flood that lasts is.
 */
const LATE_WINDOWS = 3;

/**
 * The front door's bound on work, for POST /orders and POST /users. A crowd that does not wait
 * for answers (an on-sale, k6's arrival-rate executors) must meet a Checkout that answers every
 * request, at once when it must refuse: 503 with Retry-After. Without a bound the requests pile
 * up inside the process: every one holds a socket and a place in the group commit's queue,
 * answers take tens of seconds, and the clients see resets.
 *
 * Three limits, any of which turns a request away:
 * - ACCEPT_MAX_IN_FLIGHT requests admitted and not yet answered (the work waiting on the database);
 * - where ACCEPT_MAX_EVENT_LOOP_DELAY_MS is set, the event loop running late by more than that,
 *   window after window (the process out of CPU: it cannot even read its sockets in time);
 * - for a purchase, the waiting line too long to join: a new buyer would wait more than
 *   MAX_WAIT_SECONDS (WaitingLine). Retry-After then says when the line will be short enough.
 *
 * POST /orders/sync is bounded by its own policies (bulkhead, circuit); what they would refuse
 * anyway is refused here, before the work of reading and routing it.
 *
 * It runs as a Fastify onRequest hook, before the body is read and before Nest routes anything, so
 * that turning a request away costs next to nothing: refusing must stay cheap exactly when the
 * process is busiest. bench:ticket-sale's front door (BENCH_FRONT_DOOR=only) measures it.
 */
@Injectable()
export class FrontDoor implements OnModuleDestroy {
  private inFlight = 0;
  /** Windows in a row whose mean delay was over ACCEPT_MAX_EVENT_LOOP_DELAY_MS. */
  private lateWindows = 0;
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | undefined;
  private readonly turnedAway: Counter;

  constructor(
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
    private readonly line: WaitingLine,
    private readonly syncPolicies: SyncOrderPolicies,
    metrics: MetricsRegistry,
  ) {
    // Watched only where it counts: with the limit off (0), nothing reads the loop's delay.
    const limitMs = config.ACCEPT_MAX_EVENT_LOOP_DELAY_MS;
    if (limitMs > 0) {
      this.delay.enable();
      this.timer = setInterval(() => {
        const meanMs = this.delay.count > 0 ? this.delay.mean / 1e6 : 0;
        this.lateWindows = meanMs > limitMs ? this.lateWindows + 1 : 0;
        this.delay.reset();
      }, DELAY_WINDOW_MS).unref();
    }
    const registers = [metrics.registry];
    const inFlight: Gauge = new Gauge({
      name: metricNames.acceptInFlight,
      help: 'POST /orders and POST /users in flight (ACCEPT_MAX_IN_FLIGHT at most)',
      registers,
      collect: () => inFlight.set(this.inFlight),
    });
    this.turnedAway = new Counter({
      name: metricNames.acceptTurnedAway,
      help: 'Requests answered 503 at the front door, by `reason` (in_flight, event_loop, line_closed, sync_refused: the synchronous path full or its circuit open)',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Guards the app's POST /orders and POST /users (main.ts, before it listens). */
  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => this.admit(request, reply, done));
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }

  private admit(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const route = `${request.method} ${request.routeOptions.url}`;
    if (route === SYNC_ROUTE) {
      const refusal = this.syncPolicies.refusal();
      if (!refusal) return done();
      this.turnedAway.inc({ reason: 'sync_refused' });
      return this.refuse(reply, refusal.message, refusal.retryAfterSeconds);
    }
    if (!GUARDED.has(route)) return done();
    const why = this.reasonToTurnAway(route);
    if (why) {
      this.turnedAway.inc({ reason: why.reason });
      return this.refuse(reply, why.message, why.retryAfterSeconds ?? RETRY_AFTER_SECONDS);
    }
    this.inFlight += 1;
    // 'close' comes once the answer is sent, or when the client went away first.
    reply.raw.once('close', () => (this.inFlight -= 1));
    done();
  }

  private refuse(reply: FastifyReply, message: string, retryAfterSeconds: number): void {
    void reply.code(503).header('retry-after', String(retryAfterSeconds)).send({ statusCode: 503, error: 'Service Unavailable', message });
  }

  private reasonToTurnAway(route: string): { reason: string; message: string; retryAfterSeconds?: number } | null {
    const maxInFlight = this.config.ACCEPT_MAX_IN_FLIGHT;
    if (this.inFlight >= maxInFlight)
      return { reason: 'in_flight', message: `Checkout is taking ${maxInFlight} purchases and sign-ups at once already; try again` };
    if (this.lateWindows >= LATE_WINDOWS)
      return { reason: 'event_loop', message: 'Checkout is out of breath (its event loop is running late); try again' };
    const closed = route === 'POST /orders' ? this.line.closed() : null;
    if (closed)
      return {
        reason: 'line_closed',
        message: `The line is closed for now: a new buyer would wait about ${closed.estimatedWaitSeconds} s, longer than ${this.config.MAX_WAIT_SECONDS} s; come back after ${closed.retryAfterSeconds} s`,
        retryAfterSeconds: closed.retryAfterSeconds,
      };
    return null;
  }
}
