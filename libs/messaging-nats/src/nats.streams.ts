import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** A connection with its JetStream clients, asked for when used: a transport's parts are made before it connects. */
export type JetStreamSession = { readonly connection: NatsConnection; readonly js: JetStreamClient; readonly jsm: JetStreamManager };

/** A stream's or a durable consumer's name: NATS forbids '.', '*', '>', whitespace and path separators there. */
export const natsNameOf = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');

/** A channel's stream, `billing.charge-order` → `billing_charge-order`; its subject is the channel's name, dots and all. */
export const streamOf = natsNameOf;
export const deadLetterStreamOf = (channel: string): string => `${streamOf(channel)}_dlq`;
export const deadLetterSubjectOf = (channel: string): string => `${channel}.dlq`;

/** For a `catch`: `value` when the stream or durable consumer is not there, the error otherwise. */
export function unlessMissing<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (
      error instanceof JetStreamApiError &&
      (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound)
    )
      return value;
    throw error;
  };
}
