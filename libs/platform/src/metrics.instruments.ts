import {
  PublishIncomplete,
  type BatchObservation,
  type OutgoingMessage,
  type PipelineObserver,
  type Publisher,
  type Settlement,
} from '@boxoffice/messaging';
import { Counter, Histogram, type Registry } from 'prom-client';
import { metricLabels as L, metricNames } from './metrics.names.js';

/** Which consumer a pipeline or handler belongs to: its transport and its group, as named on the brokers. */
export interface ConsumerLabels {
  readonly system: string;
  readonly group: string;
}

/** From a millisecond to a minute: a handler's SQL at the bottom, a rate-limited batch at the top. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Up to the default batch of 100, the relay's 500 on the publish side and Audit's and Analytics' 1,000. */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** What a settlement is called in `outcome`. */
function outcomeOf(settlement: Settlement): string {
  if (settlement.kind === 'ack') return settlement.as;
  return settlement.kind === 'dead-letter' ? 'dead_letter' : settlement.kind;
}

/**
 * The timed and counted parts of a service's messaging, so the pipeline (one place for outcomes)
 * and the relay stay free of metrics:
 * - `consumer` observes a consumer's pipeline from beside it (pipeline.observer.ts in
 *   libs/messaging): batch duration and size, each message's outcome, the inbox's duplicates
 *   (the same settlements PipelineCounters counts), and `messaging_process_duration_seconds` per
 *   handler call;
 * - `publishers` decorates what the outbox relay publishes through: sent messages, publish duration.
 */
export class MessagingInstruments {
  private readonly consumed: Counter;
  private readonly duplicates: Counter;
  private readonly processDuration: Histogram;
  private readonly batchDuration: Histogram;
  private readonly batchMessages: Histogram;
  private readonly sent: Counter;
  private readonly operationDuration: Histogram;

  constructor(registry: Registry) {
    const consumer = [L.system, L.destination, L.group];
    const registers = [registry];
    this.consumed = new Counter({
      name: metricNames.consumedMessages,
      help: 'Messages a consumer settled, by outcome (done, duplicate, skipped, retry, dead_letter, held; error: the batch failed and comes again)',
      labelNames: [...consumer, 'outcome'],
      registers,
    });
    this.duplicates = new Counter({
      name: metricNames.inboxDuplicates,
      help: 'Redeliveries the inbox recognised and dropped',
      labelNames: consumer,
      registers,
    });
    this.processDuration = new Histogram({
      name: metricNames.processDuration,
      help: 'One handler call: a message, or a run of a batch handler, inside the batch transaction',
      labelNames: [...consumer, 'handler'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.batchDuration = new Histogram({
      name: metricNames.batchDuration,
      help: "One batch through the consumer pipeline: the rate limiter's admission, the transaction, the commit",
      labelNames: consumer,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.batchMessages = new Histogram({
      name: metricNames.batchMessages,
      help: 'Messages per consumed batch',
      labelNames: consumer,
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.sent = new Counter({
      name: metricNames.sentMessages,
      help: 'Messages the outbox relay published and the broker confirmed',
      labelNames: [L.system, L.destination],
      registers,
    });
    this.operationDuration = new Histogram({
      name: metricNames.operationDuration,
      help: "One publish of the outbox relay, until the broker's confirmation",
      labelNames: [L.system, L.operation, L.errorType],
      buckets: DURATION_BUCKETS,
      registers,
    });
  }

  /** What measures a consumer's pipeline, as its observer. */
  consumer({ system, group }: ConsumerLabels): PipelineObserver {
    return {
      batchBegun: (source, messages): BatchObservation => {
        const labels = { [L.system]: system, [L.destination]: source, [L.group]: group };
        this.batchMessages.observe(labels, messages.length);
        return {
          handlerCalled: ({ handler }) => ({
            ended: ({ durationMs }) => this.processDuration.observe({ ...labels, handler: handler.constructor.name }, durationMs / 1_000),
          }),
          batchEnded: (end) => {
            this.batchDuration.observe(labels, end.durationMs / 1_000);
            if ('error' in end) {
              this.consumed.inc({ ...labels, outcome: 'error' }, messages.length);
              return;
            }
            const outcomes = new Map<string, number>();
            for (const settlement of end.settlements) outcomes.set(outcomeOf(settlement), (outcomes.get(outcomeOf(settlement)) ?? 0) + 1);
            for (const [outcome, count] of outcomes) this.consumed.inc({ ...labels, outcome }, count);
            if (outcomes.has('duplicate')) this.duplicates.inc(labels, outcomes.get('duplicate'));
          },
        };
      },
    };
  }

  publishers(publishers: ReadonlyArray<Publisher>): Publisher[] {
    return publishers.map((publisher) => ({
      name: publisher.name,
      publish: async (messages, options) => {
        const end = this.operationDuration.startTimer({ [L.system]: publisher.name, [L.operation]: 'send' });
        const countSent = (taken: ReadonlyArray<OutgoingMessage>) => {
          const perChannel = new Map<string, number>();
          for (const { destination } of taken) perChannel.set(destination.channel, (perChannel.get(destination.channel) ?? 0) + 1);
          for (const [channel, count] of perChannel) this.sent.inc({ [L.system]: publisher.name, [L.destination]: channel }, count);
        };
        try {
          await publisher.publish(messages, options);
        } catch (error) {
          end({ [L.errorType]: error instanceof Error ? error.constructor.name : 'unknown' });
          // The broker took all but the failed ones: those were sent all the same.
          if (error instanceof PublishIncomplete) countSent(messages.filter((_, index) => !error.failed.has(index)));
          throw error;
        }
        end();
        countSent(messages);
      },
    }));
  }
}
