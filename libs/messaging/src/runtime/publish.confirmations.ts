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

/**
 * The end of a publish that kept its own account of each message, by index in the published
 * array (SQS's per-entry answers, Kinesis' per-record ones): returns if none failed, and rejects
 * with PublishIncomplete naming those that did. When none was taken and none refused (the broker
 * away, the deadline passed) it rejects with `cause` itself: the publish failed as a whole.
 */
export function throwUnlessAllTaken(what: string, failed: ReadonlyMap<number, PublishFailure>, total: number, cause: unknown): void {
  if (failed.size === 0) return;
  if (failed.size === total && ![...failed.values()].some((failure) => failure.refused)) throw cause;
  throw new PublishIncomplete(what, failed, total, { cause });
}

/**
 * `confirmed`, or a rejection with the signal's reason as soon as it is aborted: the caller stops
 * waiting at once, whatever the client is still doing (kafkajs takes no signal; a connect it is
 * retrying goes on). A late outcome of `confirmed` is heard by nobody, and is caught here.
 */
export function unlessAborted<T>(confirmed: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return confirmed;
  confirmed.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    confirmed.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}
