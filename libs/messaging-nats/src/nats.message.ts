import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Envelope } from '@boxoffice/contracts';
import { FailureHeaders, type Headers } from '@boxoffice/messaging';

/** The envelope's identity in headers, so a tool (`nats stream view`, the dlq tool) tells what a message is without parsing it. */
export function envelopeHeaders(envelope: Envelope, extra: Headers = {}): Headers {
  const { id, type, version, correlationId, traceparent } = envelope;
  return {
    'message-id': id,
    type,
    version: String(version),
    'correlation-id': correlationId,
    ...(traceparent ? { traceparent } : {}),
    ...extra,
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

/**
 * A delivery's headers as the pipeline reads them. A retry is the same message delivered again, with no new failure
 * record: its attempts so far are the deliveries before (`deliveryCount` − 1), replacing any `x-attempts` carried.
 */
export function deliveryHeadersOf(message: JsMsg): Headers {
  const { [FailureHeaders.attempts]: _carried, ...headers } = headersOf(message);
  const attempts = message.info.deliveryCount - 1;
  return attempts > 0 ? { ...headers, [FailureHeaders.attempts]: String(attempts) } : headers;
}
