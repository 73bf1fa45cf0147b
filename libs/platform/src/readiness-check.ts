/**
 * What a service can do, in two parts that fail apart:
 * - `accepting`: take work through its own door (an HTTP request, written with its outbox rows in
 *   one transaction). Needs only the database.
 * - `consuming`: take work from its brokers and hand on what it accepted: the brokers connected
 *   and provisioned, the outbox relay publishing, every consumer in its group.
 *
 * `GET /health/accepting` and `GET /health/consuming` answer for one part each, `GET /health/ready`
 * for both, so an orchestrator routes each kind of work only to a service that can do it.
 */
export type ReadinessPart = 'accepting' | 'consuming';

/** One thing a service needs for one part of its work: its database, a broker, a consumer. */
export interface ReadinessCheck {
  readonly name: string;
  readonly part: ReadinessPart;
  /** Resolves when the dependency answers; rejects with the reason when it does not. */
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
