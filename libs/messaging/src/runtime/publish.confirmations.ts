import { MessageRefused, PublishIncomplete, type PublishFailure } from '../transport.port.js';
import { describeError } from './stoppable.js';

export interface ConfirmationOptions {
  /** The first failure's reason in the broker's words, where its errors are not plain Errors. */
  readonly describe?: (error: unknown) => string;
  /** Whether a failure is the broker's no to that message (counted, then parked), rather than an answer that never came. */
  readonly refused?: (error: unknown) => boolean;
}

/**
 * The end of a publish that sent its messages all at once, one confirmation per message, in the
 * order of the messages: waits for every confirmation, so that none rejects unheard, and if any
 * failed rejects with PublishIncomplete, which names each failed message by its index and says
 * whether the broker refused it (`MessageRefused`, or the adapter's `refused`). Every other
 * message was confirmed: the outbox marks those published and tries only the failed ones again.
 */
export async function allConfirmed(
  confirmations: ReadonlyArray<Promise<unknown>>,
  what: string,
  { describe = describeError, refused = (error) => error instanceof MessageRefused }: ConfirmationOptions = {},
): Promise<void> {
  const outcomes = await Promise.allSettled(confirmations);
  const failed = new Map<number, PublishFailure>();
  let first: unknown;
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    first ??= outcome.reason;
    failed.set(index, { reason: describe(outcome.reason), refused: refused(outcome.reason) });
  });
  if (failed.size > 0) throw new PublishIncomplete(what, failed, outcomes.length, { cause: first });
}

/**
 * Sends each item and returns its confirmation, for `allConfirmed`. A message that cannot even be
 * written out (its envelope will not encode for this broker) is refused on its own, as the broker
 * would refuse it, rather than failing the publish of its neighbours, some of them already sent.
 */
export function sendEach<T>(items: ReadonlyArray<T>, send: (item: T) => Promise<unknown>): Array<Promise<unknown>> {
  return items.map((item) => {
    try {
      return send(item);
    } catch (error) {
      return Promise.reject(new MessageRefused(`cannot be sent: ${describeError(error)}`, { cause: error }));
    }
  });
}
