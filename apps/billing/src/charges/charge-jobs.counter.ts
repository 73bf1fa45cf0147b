import { hostname } from 'node:os';

/**
 * What this instance of Billing has done from the work queue, counted in memory. Several
 * instances compete for one queue; each one's counter (GET /charges/jobs) shows that the broker
 * spread the jobs between them, and their sum, against the number of orders, that none was done
 * twice. It restarts from zero with the process: a gauge for watching, not a ledger.
 */
export class ChargeJobsCounter {
  /** Names this process among the instances sharing the queue (the host alone is not enough: two run on one machine). */
  readonly instance = `${hostname()}:${process.pid}`;
  readonly startedAt = new Date();
  private done = 0;

  /** Called once the jobs' transaction committed, never for a redelivery the inbox dropped. */
  recordDone(jobs = 1): void {
    this.done += jobs;
  }

  snapshot() {
    return { instance: this.instance, startedAt: this.startedAt.toISOString(), jobsDone: this.done };
  }
}
