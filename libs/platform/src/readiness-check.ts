/**
 * One thing a service needs in order to do its work: its database, a broker. `GET /health/ready`
 * answers 200 only when every check passes, so an orchestrator sends work only to a service
 * that can do it.
 */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency answers; rejects with the reason when it does not. */
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
