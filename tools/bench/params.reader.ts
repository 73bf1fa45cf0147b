// k6/params.json is the one place the load parameters live: the k6 scripts read it with open(),
// the autocannon benches with this, so both tools run the same scenario.
import { readFileSync } from 'node:fs';
import type { FrontDoorParams } from './ticket-sale.front-door.ts';

export interface TicketSaleParams {
  /** Seats of the concert on sale. */
  readonly capacity: number;
  /** Purchases fired at it (of `quantity` seats each): several times the capacity, so it sells out. */
  readonly purchases: number;
  readonly quantity: number;
  /** Concurrent connections of the load generator, and the baseline's pg pool size is Checkout's. */
  readonly connections: number;
  /** Billing's BILLING_MAX_RATE in the bench: the drain rate the queue levels the spike down to. */
  readonly billingMaxRate: number;
  /** Purchases a second the autocannon sale offers: the spike (k6's ramp tops out at the same rate). */
  readonly spikeRate: number;
  /** The steady rate at which the time from accepted to confirmed is measured, and for how long. */
  readonly steadyRate: number;
  readonly steadySeconds: number;
  /**
   * Requests sent before measuring, to both Checkout and the baseline, so neither is measured
   * cold. Checkout's leave Billing a backlog to drain while the baseline runs: enough that the
   * drain lasts about as long as the baseline does.
   */
  readonly warmup: number;
  readonly settleTimeoutSeconds: number;
  /** k6's ramping-arrival-rate spike (k6/ticket-sale.js); the autocannon bench offers `spikeRate` throughout instead. */
  readonly spike: unknown;
}

export interface SyncVsAsyncParams {
  /** Requests per second offered to each path, the same for both; Billing stays at ticketSale.billingMaxRate. */
  readonly offeredRate: number;
  readonly durationSeconds: number;
  /** Enough that the synchronous path, waiting on Billing, is not held back by the load generator first. */
  readonly connections: number;
  /** A concert that cannot sell out during the comparison: both paths meet the same Billing work. */
  readonly capacity: number;
}

export interface WaitingRoomParams {
  /** Purchases offered, one seat each, at `ratePerSecond` in an open model. */
  readonly purchases: number;
  readonly ratePerSecond: number;
  /** Seats of the concert: far fewer than the purchases, so that it sells out at the door. */
  readonly capacity: number;
  readonly billingMaxRate: number;
  /** k6's maxVUs: requests waiting at once at most; an arrival beyond is dropped. */
  readonly maxVUs: number;
  readonly answerTimeoutSeconds: number;
  readonly settleTimeoutSeconds: number;
  /** Buyers following their orders at once in the bench's streams phase. */
  readonly streams: number;
  /** In k6/waiting-room.js, one accepted buyer in this many follows their stream to the end. */
  readonly followEvery: number;
}

export interface SignupFanoutParams {
  /** Sign-ups in all, shared by the clients (k6's shared-iterations). */
  readonly signups: number;
  /** Clients, each sending its next sign-up once the last is answered (k6's VUs). */
  readonly vus: number;
  /** k6/signup-fanout.js's threshold on POST /users' p95. */
  readonly p95Ms: number;
  readonly catchUpTimeoutSeconds: number;
}

export interface BenchParams {
  readonly ticketSale: TicketSaleParams;
  readonly syncVsAsync: SyncVsAsyncParams;
  readonly frontDoor: FrontDoorParams;
  readonly waitingRoom: WaitingRoomParams;
  readonly signupFanout: SignupFanoutParams;
}

/** BENCH_PARAMS=<file> points at another copy, e.g. a smaller one for a quick try of a bench. */
export function readParams(file: string | URL = process.env.BENCH_PARAMS ?? new URL('../../k6/params.json', import.meta.url)): BenchParams {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchParams;
}
