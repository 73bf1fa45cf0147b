import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import { withDeliveryAttempts, type Headers } from '@boxoffice/messaging';

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
