import { randomBytes } from 'node:crypto';

/** A name no other spec uses: specs isolate their queues, topics and databases by it. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.toLowerCase();
}
