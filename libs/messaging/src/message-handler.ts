import type { Envelope } from '@boxoffice/contracts';
import type { HandlerOutcome } from './handler-outcome.js';

/** A plain class that translates one message into a call on the service, and says how it went. */
export interface MessageHandler<Payload = unknown> {
  handle(message: Envelope<Payload>): Promise<HandlerOutcome>;
}
