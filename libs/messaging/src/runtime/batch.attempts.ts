import type { BatchProcessor, InboundMessage, Settlement, SourceSemantics } from '../transport.port.js';
import { describeError, untilStopped } from './stoppable.js';
import type { Logger } from '../logger.js';

export interface BatchAttemptOptions {
  /** Stopping: no further try; the batch is left unsettled. */
  readonly signal: AbortSignal;
  /** Whether the batch can still be settled (its channel is still open, its lease still held); false gives up. */
  readonly settleable?: () => boolean;
  /** An error that means the batch can never commit here (a lost lease): give up at once. */
  readonly giveUp?: (error: unknown) => boolean;
  /**
   * Keeps the batch ours while it is tried (a consumer group's heartbeats, a queue's visibility
   * timeout): started before the first try, and the function it returns ends it.
   */
  readonly keepAlive?: () => () => void;
  readonly logger: Logger;
  /** Names the consumer in log lines. */
  readonly label: string;
}

/**
 * Hands a batch to the pipeline, and again after a backoff while the database is away: the
 * pipeline commits all of a batch or nothing, so trying again is safe, and the inbox makes any
 * message that did commit a duplicate. Resolves with the settlements, or null when the batch
 * was given up (stopping, or it can no longer be settled): the broker hands it out again.
 */
export async function processUntilCommitted(
  pipeline: BatchProcessor,
  source: string,
  messages: ReadonlyArray<InboundMessage>,
  semantics: SourceSemantics,
  options: BatchAttemptOptions,
): Promise<Settlement[] | null> {
  const stopKeeping = options.keepAlive?.();
  try {
    const settleable = () => options.settleable?.() ?? true;
    if (!settleable()) return null;
    const settlements = await untilStopped(() => pipeline.process(source, messages, semantics), {
      signal: options.signal,
      giveUp: (error) => (options.giveUp?.(error) ?? false) || !settleable(),
      onFailure: (error, wait) =>
        options.logger.warn(
          `${options.label} ${source}: a batch of ${messages.length} failed (${describeError(error)}); trying it again in ${wait} ms`,
        ),
    });
    return settlements ?? null;
  } finally {
    stopKeeping?.();
  }
}
