import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import {
  DeadLetterShelf,
  deadLetterOf,
  FailureHeaders,
  silentLogger,
  withoutFailure,
  type DeadLetter,
  type DeadLetterCount,
  type Logger,
} from '@boxoffice/messaging';
import {
  chunk,
  envelopeFieldOf,
  GROUP_HEADER,
  groupIdOf,
  MAX_BATCH_ENTRIES,
  packHeaders,
  RECEIVE_ATTRIBUTES,
  unpackHeaders,
} from './sqs.message.js';
import type { SqsQueues } from './sqs.queues.js';

export interface SqsDeadLettersOptions {
  /** How long a look keeps the dead letters it read invisible before it gives them back (or a crashed tool's look ends by itself). */
  readonly lookSeconds?: number;
  readonly logger?: Logger;
}

/** One dead letter queue, read in full. */
interface Look {
  readonly channel: string;
  readonly url: string;
  readonly store: string;
  readonly messages: Message[];
}

/** What a dead letter that SQS's redrive policy moved says went wrong: it carries no failure record. */
const REDRIVEN = 'moved by the redrive policy: received too often without being settled';

/**
 * The `<queue>-dlq` of each channel, as a DeadLetterShelf (which gives list, replay, replay all
 * and purge their one meaning). SQS cannot browse a queue, so a look receives everything in it
 * (the messages stay invisible for `lookSeconds` meanwhile) and then makes each one visible
 * again; if the tool dies halfway, the visibility timeout gives them back by itself. Replay
 * sends a copy to the channel's queue, with the same body and headers but no failure record (a
 * full set of attempts), and deletes the dead letter only after SQS took the copy: a crash in
 * between replays twice, which the inbox absorbs. (SQS's StartMessageMoveTask, which ElasticMQ
 * has too, moves a whole queue at once and keeps the failure record: not one by id, and not afresh.)
 */
export class SqsDeadLetters extends DeadLetterShelf {
  private readonly logger: Logger;
  /** Each dead letter queue's name, with the channel it holds the dead letters of. */
  private readonly channelOf: ReadonlyMap<string, string>;

  constructor(
    private readonly client: SQSClient,
    private readonly queues: SqsQueues,
    /** The channels whose dead letter queues this store covers. */
    channels: ReadonlyArray<string>,
    private readonly options: SqsDeadLettersOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.channelOf = new Map(channels.map((channel) => [queues.deadLetterQueueNameOf(channel), channel]));
  }

  /**
   * Each dead letter queue's approximate count, as SQS keeps it (those a look holds invisible
   * included), and its retention: SQS deletes a dead letter that long after it was first sent,
   * replayed or not. Nothing is received, so the oldest letter's age is not known (SQS says it only
   * to CloudWatch, as ApproximateAgeOfOldestMessage).
   */
  async counts(): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const store of await this.stores()) {
      const url = await this.queues.deadLetterUrlOf(this.channelOf.get(store)!);
      const { Attributes = {} } = await this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'MessageRetentionPeriod'],
        }),
      );
      const messages = Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
      const retentionSeconds = Number(Attributes.MessageRetentionPeriod);
      counts.push({ store, messages, ...(retentionSeconds > 0 ? { retentionMs: retentionSeconds * 1_000 } : {}) });
    }
    return counts;
  }

  /** The dead letter queues that exist: a channel whose consumer never started has none. */
  protected async stores(): Promise<string[]> {
    const found: string[] = [];
    for (const store of this.channelOf.keys()) if (await this.queues.find(store)) found.push(store);
    return found;
  }

  protected async listIn(store: string): Promise<DeadLetter[]> {
    const look = await this.look(store);
    const letters = look.messages.map((message) => describe(message, look));
    await this.giveBack(look, look.messages);
    return letters;
  }

  /** For 'all', what is there now: the whole look is taken before anything goes back, so what fails again meanwhile waits for the next run. */
  protected async replayIn(store: string, which: string | 'all'): Promise<number> {
    const look = await this.look(store);
    if (which === 'all') return this.replayFrom(look, look.messages);
    const wanted = look.messages.filter((message) => describe(message, look).id === which).slice(0, 1);
    try {
      return await this.replayFrom(look, wanted);
    } finally {
      await this.giveBack(
        look,
        look.messages.filter((message) => !wanted.includes(message)),
      );
    }
  }

  /** Deletes every dead letter (and counts them). Not PurgeQueue: SQS allows that once a minute, and says no number. */
  protected async purgeIn(store: string): Promise<number> {
    const look = await this.look(store);
    await this.delete(look, look.messages);
    return look.messages.length;
  }

  /** Everything in a dead letter queue, received and held invisible. */
  private async look(store: string): Promise<Look> {
    const channel = this.channelOf.get(store)!;
    const url = await this.queues.deadLetterUrlOf(channel);
    const messages: Message[] = [];
    // Short receives until one comes back empty, then a 1 s long poll to be sure: a short receive
    // on real SQS asks only some of its servers, and can come back empty while messages wait.
    for (let waitTimeSeconds = 0; ;) {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: MAX_BATCH_ENTRIES,
          WaitTimeSeconds: waitTimeSeconds,
          VisibilityTimeout: this.options.lookSeconds ?? 30,
          MessageSystemAttributeNames: [...RECEIVE_ATTRIBUTES],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...Messages);
      if (Messages.length > 0) waitTimeSeconds = 0;
      else if (waitTimeSeconds === 0) waitTimeSeconds = 1;
      else break;
    }
    return { channel, url, store, messages };
  }

  private async replayFrom(look: Look, messages: ReadonlyArray<Message>): Promise<number> {
    for (const message of messages) {
      const headers = unpackHeaders(message);
      const letter = describe(message, look);
      const url = await this.queues.urlOf(letter.originalSource);
      // Its key again, from the header the consumer kept it in (or, for one SQS redrove, its own group).
      const group = headers[GROUP_HEADER] ?? message.Attributes?.MessageGroupId ?? letter.id ?? message.MessageId!;
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: message.Body ?? '',
          MessageAttributes: packHeaders(withoutFailure(headers, [GROUP_HEADER])),
          ...(this.queues.fifo ? { MessageGroupId: groupIdOf(group), MessageDeduplicationId: randomUUID() } : {}),
        }),
      );
      await this.delete(look, [message]);
      this.logger.log(`sqs dead letters: replayed ${letter.id ?? message.MessageId} from ${look.store} to ${letter.originalSource}`);
    }
    return messages.length;
  }

  private async giveBack(look: Look, messages: ReadonlyArray<Message>): Promise<void> {
    for (const part of chunk(messages, () => 0)) {
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: look.url,
          Entries: part.map((message, i) => ({ Id: `v${i}`, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      );
    }
  }

  private async delete(look: Look, messages: ReadonlyArray<Message>): Promise<void> {
    for (const part of chunk(messages, () => 0)) {
      const { Failed = [] } = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: look.url,
          Entries: part.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      if (Failed.length > 0)
        throw new Error(
          `SQS did not delete ${Failed.length} dead letters from ${look.store}: ${Failed[0].Code} ${Failed[0].Message ?? ''}`,
        );
    }
  }
}

function describe(message: Message, look: Look): DeadLetter {
  const headers = unpackHeaders(message);
  return deadLetterOf({
    transport: 'sqs',
    store: look.store,
    // One that SQS's redrive policy moved carries no failure record: no consumer ever settled it.
    headers: { [FailureHeaders.lastError]: REDRIVEN, ...headers },
    body: message.Body ?? '',
    id: envelopeFieldOf('id', headers, message.Body),
    type: envelopeFieldOf('type', headers, message.Body),
    defaultSource: look.channel,
    position: `SQS message ${message.MessageId}`,
  });
}
