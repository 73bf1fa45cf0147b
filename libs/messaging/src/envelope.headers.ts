import type { Envelope } from '@boxoffice/contracts';
import type { Headers } from './failure.headers.js';

/**
 * The envelope's identity, repeated in the headers of every message a transport with string
 * headers carries (Kafka, Kinesis, SQS, NATS), so a tool (kcat, the AWS console, `nats stream
 * view`, the dlq tool) tells what a message is without parsing its body. The same names on every
 * such transport, written here only. (RabbitMQ and Artemis put the identity in their protocol's
 * own properties instead, where their tools show it.)
 */
export const EnvelopeHeaders = {
  messageId: 'message-id',
  type: 'type',
  version: 'version',
  correlationId: 'correlation-id',
  /** W3C trace context, under the name OpenTelemetry's propagators use. */
  traceparent: 'traceparent',
} as const;

/** The headers a message is published with: its envelope's identity, and `extra` (what the outbox adds) on top. */
export function envelopeHeaders(envelope: Envelope, extra: Headers = {}): Record<string, string> {
  return {
    [EnvelopeHeaders.messageId]: envelope.id,
    [EnvelopeHeaders.type]: envelope.type,
    [EnvelopeHeaders.version]: String(envelope.version),
    [EnvelopeHeaders.correlationId]: envelope.correlationId,
    ...(envelope.traceparent ? { [EnvelopeHeaders.traceparent]: envelope.traceparent } : {}),
    ...extra,
  };
}

/**
 * What a dead letter adds to its headers so the dlq tool finds it by id: the envelope id the
 * pipeline read from the body (`messageId`), where the message's own headers did not carry it.
 */
export function missingIdHeader(headers: Headers, messageId: string | null): Headers {
  return messageId && !headers[EnvelopeHeaders.messageId] ? { [EnvelopeHeaders.messageId]: messageId } : {};
}
