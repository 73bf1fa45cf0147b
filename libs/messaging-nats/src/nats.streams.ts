import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { withDeliveryAttempts, type Headers } from '@boxoffice/messaging';

/** A connection with its JetStream clients, asked for when used: a transport's parts are made before it connects. */
export type JetStreamSession = { readonly connection: NatsConnection; readonly js: JetStreamClient; readonly jsm: JetStreamManager };

/** A stream's or a durable consumer's name: NATS forbids '.', '*', '>', whitespace and path separators there. */
export const natsNameOf = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');

/** A channel's stream, `billing.charge-order` → `billing_charge-order`; its subject is the channel's name, dots and all. */
export const streamOf = natsNameOf;
export const deadLetterStreamOf = (channel: string): string => `${streamOf(channel)}_dlq`;
export const deadLetterSubjectOf = (channel: string): string => `${channel}.dlq`;

const notThere = new Set<number>([JetStreamApiCodes.StreamNotFound, JetStreamApiCodes.ConsumerNotFound]);

/** For a `catch`: `value` when the stream or durable consumer is not there, the error otherwise. */
export function unlessMissing<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof JetStreamApiError && notThere.has(error.code)) return value;
    throw error;
  };
}

export function toNatsHeaders(headers: Headers): MsgHdrs {
  const packed = natsHeaders();
  for (const [name, value] of Object.entries(headers)) packed.set(name, value);
  return packed;
}

/** The headers a message carried, without JetStream's own (`Nats-Msg-Id`, ...), which a copy must not repeat. */
export function headersOf(message: { readonly headers?: MsgHdrs }): Headers {
  const read: Record<string, string> = {};
  for (const name of message.headers?.keys() ?? []) if (!name.startsWith('Nats-')) read[name] = message.headers!.get(name);
  return read;
}

/** A delivery's headers as the pipeline reads them: a retry is the same message delivered again, its attempts JetStream's count. */
export function deliveryHeadersOf(message: JsMsg): Headers {
  return withDeliveryAttempts(headersOf(message), message.info.deliveryCount - 1);
}
