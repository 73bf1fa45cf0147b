// Who gets the CPU first when the five services share one host, as `npm start` and docker compose
// on a laptop run them, and the benches after them.
//
// Checkout must answer a crowd at once (202, 409 sold out or 503 with Retry-After), and Billing
// must keep the pace it was given: together they are the sale. Email, Analytics and Audit read a
// retained log (Kafka keeps it for days): when they fall behind during a spike, nothing is lost
// and nobody waits at the door, and they catch up once it has passed. So on a shared host they
// yield: a niceness of 10 (the kernel's weight 110 against 1,024) gives them what the sale leaves,
// and all of it when the sale wants none. docker-compose.yml says the same with `cpu_shares`.
// On hosts of their own it changes nothing. Measured in docs/patterns/load-levelling.md § Who gets
// the CPU first.

/** The subscribers of the event log, which yield the CPU to the sale on a shared host. */
export const YIELDING_SERVICES: ReadonlySet<string> = new Set(['email', 'analytics', 'audit']);

/** Their niceness (Unix `nice`); the others run at 0. */
export const YIELDING_NICENESS = 10;

/** Their weight under Docker (`cpu_shares`, docker-compose.yml), against its default 1,024: about the kernel's for niceness 10. */
export const YIELDING_CPU_SHARES = 102;

/** The niceness a service runs at on a shared host. */
export function nicenessOf(service: string): number {
  return YIELDING_SERVICES.has(service) ? YIELDING_NICENESS : 0;
}
