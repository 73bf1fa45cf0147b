import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const checkoutConfigSchema = z
  .object({
    ...serviceEnv('checkout', 3000),
    /**
     * Kafka partitions of the payment results this instance settles at once; within a partition,
     * results are settled one after the other, in order. kafkajs fetches again only once every
     * batch of its last fetch is handled, so fewer lanes than the topic's partitions (3) make a
     * result wait for its neighbours' batches before it is even fetched. More buys nothing.
     */
    KAFKA_CONCURRENCY: env.positiveInt(3),
    /**
     * POST /orders and POST /users in flight at once; beyond, 503 with Retry-After at once
     * (FrontDoor). An admitted request waits about this many divided by the accept rate (some
     * 400/s on a laptop): 500 keeps it near a second, and leaves the group commit batches of a few
     * hundred rows.
     */
    ACCEPT_MAX_IN_FLIGHT: env.positiveInt(500),
    /**
     * How late Checkout's event loop may run (its mean over 100 ms, three windows in a row) before
     * POST /orders and POST /users are turned away with 503; 0, the default, turns this off. On a
     * host of its own a loop that runs late means Checkout is out of CPU, and 20 sheds a flood
     * before the kernel's listen queue overflows (docs/patterns/load-levelling.md has the figures).
     * On a host it shares with its database and the other services, as `npm start` and the tests
     * run it, a late loop mostly means a neighbour took the CPU, and turning buyers away then helps
     * nobody: ACCEPT_MAX_IN_FLIGHT alone bounds the work there.
     */
    ACCEPT_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
    /** Billing's HTTP API, called only by the deliberately synchronous POST /orders/sync. */
    BILLING_URL: env.url(['http:', 'https:'], 'http://127.0.0.1:3001'),
    /** The service token POST /orders/sync shows Billing (Authorization: Bearer); Billing's BILLING_API_TOKEN. */
    BILLING_API_TOKEN: env.secret('BILLING_API_TOKEN'),
    /** The deadline of a whole POST /orders/sync, from the moment it arrives: queueing, Billing's answer and the write. */
    SYNC_TIMEOUT_MS: env.positiveInt(2_000),
    /**
     * `off` takes the fail-fast policies (bulkhead, whole-request deadline, circuit breaker) away
     * and leaves only a timeout on the call to Billing, as the synchronous path had at first: kept
     * so that bench:ticket-sale can show the two side by side. Leave it `on`.
     */
    SYNC_POLICIES: z.enum(['on', 'off']).default('on'),
    /**
     * Synchronous purchases in flight at once. What one holds is the call to Billing, not a
     * database connection: its two transactions are short and take none while Billing answers,
     * and the settlings of the same moment share one. Measured with
     * `BENCH_SYNC=only npm run bench:ticket-sale` (1,000/s offered, Billing at 500/s): 20 accepted
     * 193/s, 40 accepted 276 and 289/s with the refusals' p99 at 40 ms, 60 accepted 339/s but
     * the refusals' p99 rose to 101 ms, the CPU the extra work took from them.
     */
    SYNC_BULKHEAD_SIZE: env.positiveInt(40),
    /**
     * Purchases waiting for one of those slots; past them, 503 at once. 40 is one call's worth per
     * slot: at Billing's ~100 ms under load a queued buyer waits about 100 ms, a twentieth of the
     * deadline.
     */
    SYNC_BULKHEAD_QUEUE: z.coerce.number().int().nonnegative().default(40),
    /** Billing failures in a row (5xx, unreachable, no answer by the deadline) that open the circuit. */
    SYNC_BREAKER_FAILURES: env.positiveInt(5),
    /** How long an open circuit answers 503 before it lets one probe through to Billing. */
    SYNC_BREAKER_HALF_OPEN_MS: env.positiveInt(5_000),
    /**
     * How long an order may stay PENDING: past it, Checkout settles it for the buyer as REJECTED,
     * reason TIMED_OUT (PendingOrderSweeper). Ten minutes holds a buffered spike at Billing's safe
     * rate with room to spare: bench:ticket-sale's 30,000 purchases at 250 charges/s settle within
     * 3 minutes (its slowest run, on a loaded machine, still had a quarter pending after 4), and
     * 10 minutes is 150,000 purchases at 250/s, 300,000 at BILLING_MAX_RATE's default 500/s
     * (docs/patterns/eventual-consistency.md). A sale expected to queue longer needs a longer one.
     */
    ORDER_PENDING_DEADLINE_MS: env.positiveInt(600_000),
    /**
     * How long before that deadline Billing must have charged (the ChargeOrder's chargeBy): the time
     * its verdict takes to come back (Billing's outbox, the payments topic, a batch here), so that a
     * charge made in time is seldom refunded. A verdict later still is refunded (RefundPayment).
     */
    ORDER_CHARGE_MARGIN_MS: env.positiveInt(60_000),
    /**
     * The longest a new buyer is asked to wait in line (the waiting room): when the line, at the
     * rate it has moved lately, would keep them longer, POST /orders answers 503 with Retry-After
     * at once. Five minutes leaves a buyer at the back of the line well inside the time Billing has
     * to charge them (ORDER_PENDING_DEADLINE_MS less ORDER_CHARGE_MARGIN_MS); where that time is
     * shorter, the line closes at it instead.
     */
    MAX_WAIT_SECONDS: env.positiveInt(300),
    /** How often the waiting line's head and tail are read, and positions pushed to the buyers following their order. */
    WAITING_LINE_REFRESH_MS: env.positiveInt(500),
    /** How often PendingOrderSweeper looks for orders past their deadline: at most this late, an order is settled TIMED_OUT. */
    ORDER_SWEEP_INTERVAL_MS: env.positiveInt(5_000),
  })
  .refine((config) => config.ORDER_CHARGE_MARGIN_MS < config.ORDER_PENDING_DEADLINE_MS, {
    message: 'ORDER_CHARGE_MARGIN_MS must be shorter than ORDER_PENDING_DEADLINE_MS',
    path: ['ORDER_CHARGE_MARGIN_MS'],
  });

export type CheckoutConfig = z.infer<typeof checkoutConfigSchema>;
export const CHECKOUT_CONFIG = Symbol('CHECKOUT_CONFIG');
/** The clock order deadlines are read by (a Clock): the system's in a service, one of their own in tests. */
export const CHECKOUT_CLOCK = Symbol('CHECKOUT_CLOCK');
