import type { Envelope } from '@boxoffice/contracts';
import { createHash } from 'node:crypto';

/** One line of the audit log, as it is written. */
export interface AuditEntry {
  readonly eventId: string;
  readonly type: string;
  readonly topic: string;
  /** Who the event is about: the user's id for account events, the buyer's email for orders; none for system events. */
  readonly actor: string | null;
  /** The client's address, where the event carries one (UserRegistered). */
  readonly ip: string | null;
  readonly occurredAt: Date;
  /** sha256 of the payload as canonical JSON: anyone holding the event can check it against the log. */
  readonly payloadHash: string;
}

export function auditEntryOf(topic: string, event: Envelope): AuditEntry {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  return {
    eventId: event.id,
    type: event.type,
    topic,
    actor: text(payload.userId) ?? text(payload.customerEmail),
    ip: text(payload.ip),
    occurredAt: new Date(event.occurredAt),
    payloadHash: createHash('sha256').update(canonicalJson(event.payload)).digest('hex'),
  };
}

/** JSON with object keys sorted at every level, so the same payload always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, v]) => `${JSON.stringify(key)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
