// The benches run the services as `npm start` and docker compose do on a shared host: the
// subscribers of the event log yield the CPU to the sale (tools/dev/cpu-priority.ts).
//
//   BENCH_SUBSCRIBERS_NICENESS=0    runs them as the others, to compare (default 10)
import type { StartOptions } from '@boxoffice/e2e';
import { YIELDING_NICENESS, YIELDING_SERVICES } from '../dev/cpu-priority.ts';

function subscribersNiceness(): number {
  const setting = process.env.BENCH_SUBSCRIBERS_NICENESS;
  if (setting === undefined || setting === '') return YIELDING_NICENESS;
  const niceness = Number(setting);
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19) {
    console.error(`BENCH_SUBSCRIBERS_NICENESS: ${setting} is not a niceness from 0 to 19`);
    process.exit(1);
  }
  return niceness;
}

const niceness = subscribersNiceness();

/** How a bench starts `service`: at the priority it has on a shared host. */
export function asDeployed(service: string): StartOptions {
  return { niceness: YIELDING_SERVICES.has(service) ? niceness : 0 };
}

/** One line for the bench's header: who yields the CPU, and how much. */
export function prioritiesLine(): string {
  const names = [...YIELDING_SERVICES].join(', ');
  return niceness === 0
    ? `every service at the same priority (BENCH_SUBSCRIBERS_NICENESS=0)`
    : `${names} at niceness ${niceness}, yielding the CPU to Checkout and Billing (BENCH_SUBSCRIBERS_NICENESS=0 runs them as the others)`;
}
