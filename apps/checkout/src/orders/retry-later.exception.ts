import { ServiceUnavailableException } from '@nestjs/common';

/**
 * A 503 that says when to come back: the controller copies `retryAfterSeconds` into the
 * Retry-After header, so a well-behaved client backs off instead of hammering a full bulkhead or
 * an open circuit.
 */
export class RetryLaterException extends ServiceUnavailableException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
