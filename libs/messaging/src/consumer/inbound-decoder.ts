import { envelopeSchema, type Envelope, type MessageDefinition } from '@boxoffice/contracts';
import { z } from 'zod';

export type Decoded =
  | { readonly ok: true; readonly envelope: Envelope; readonly definition: MessageDefinition }
  | {
      readonly ok: false;
      readonly error: string;
      readonly messageId: string | null;
      /**
       * A well-formed message of a type this subscription does not take. On a work queue that is
       * poison (the queue is the subscription's alone); on a shared topic it is someone else's
       * event, to be passed over.
       */
      readonly notSubscribed?: true;
    };

/**
 * Validates raw bytes at the boundary: JSON, then the envelope, then the payload against the
 * definition named by type and version. A message that fails here is poison: retrying cannot
 * fix it, so transports send it straight to the dead letter destination with this error.
 */
export function decodeInbound(raw: Buffer | string, accepted: ReadonlyArray<MessageDefinition>): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}`, messageId: null };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    return { ok: false, error: `invalid envelope: ${formatIssues(envelope.error)}`, messageId: idOf(json) };
  }
  const { type, version, id } = envelope.data;
  const definition = accepted.find((d) => d.type === type && d.version === version);
  if (!definition) {
    return { ok: false, error: `unexpected message ${type} v${version}`, messageId: id, notSubscribed: true };
  }
  const payload = definition.schema.safeParse(envelope.data.payload);
  if (!payload.success) {
    return { ok: false, error: `invalid ${type} v${version} payload: ${formatIssues(payload.error)}`, messageId: id };
  }
  return { ok: true, envelope: { ...envelope.data, payload: payload.data }, definition };
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

function idOf(json: unknown): string | null {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : null;
}
