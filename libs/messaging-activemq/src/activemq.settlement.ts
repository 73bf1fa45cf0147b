import type { Settlement } from '@boxoffice/messaging';

/**
 * What a consumer does with one delivery for the pipeline's settlement:
 * - `accept`: done, delete it (ack);
 * - `redeliver`: `modified` with delivery-failed: the broker counts the attempt and redelivers
 *   after the queue's redelivery delay (retry). A `released` would not count, and a `rejected`
 *   is counted the same way on Artemis, not dead-lettered at once;
 * - `dead-letter`: a copy with the failure record goes to `<queue>.dlq`, confirmed, and only then
 *   the original is accepted. The broker's own dead-lettering would keep the message but lose the
 *   record (Artemis ignores the message annotations of a `modified`);
 * - `release`: back to the queue, not counted (held, which an unordered queue never gives, and
 *   batches not processed because the consumer is stopping).
 */
export type Disposition = 'accept' | 'redeliver' | 'dead-letter' | 'release';

export function dispositionFor(settlement: Settlement): Disposition {
  switch (settlement.kind) {
    case 'ack':
      return 'accept';
    case 'retry':
      return 'redeliver';
    case 'dead-letter':
      return 'dead-letter';
    case 'held':
      return 'release';
  }
}

/** What a settlement is carried out on: rhea's delivery, or a fake of it in a unit spec. */
export interface Settleable {
  accept(): void;
  release(): void;
  modified(params: { delivery_failed: boolean; undeliverable_here: boolean }): void;
}

export type FinalDisposition = Exclude<Disposition, 'dead-letter'>;

const order: ReadonlyArray<FinalDisposition> = ['accept', 'redeliver', 'release'];

/**
 * Settles deliveries, one outcome per event-loop turn. rhea writes the dispositions of one turn
 * as ranges of consecutive delivery ids, and gives a range's second delivery the first one's
 * outcome whatever its own (rhea 3.0 lib/session.js, write_dispositions: the state check is
 * skipped while first === last), so an accept followed by a retry in one turn would accept both.
 * Within one outcome a range is right. `settle` catches what a closed link throws.
 */
export async function settleByOutcome(
  items: ReadonlyArray<{ readonly delivery: Settleable; readonly disposition: FinalDisposition }>,
  settle: (operation: () => void) => void,
  nextTurn: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<void> {
  let first = true;
  for (const disposition of order) {
    const group = items.filter((item) => item.disposition === disposition);
    if (group.length === 0) continue;
    if (!first) await nextTurn();
    first = false;
    for (const { delivery } of group) settle(() => settleOne(delivery, disposition));
  }
}

function settleOne(delivery: Settleable, disposition: FinalDisposition): void {
  if (disposition === 'accept') delivery.accept();
  else if (disposition === 'redeliver') delivery.modified({ delivery_failed: true, undeliverable_here: false });
  else delivery.release();
}
