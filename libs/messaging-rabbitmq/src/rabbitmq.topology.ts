import type { Channel } from 'amqplib';
import { nominalDelayMs, type RetryPolicy } from '@boxoffice/messaging';
import { TopologyRefused } from './rabbitmq.topology-refused.js';

/**
 * The RabbitMQ side of the system, declared from code so a fresh broker needs no setup and a
 * reader finds the whole picture here. Every declaration is idempotent: each service declares
 * what it uses when it (re)connects, and declaring the same thing twice with the same arguments
 * is a no-op. Declaring it with *different* arguments (another type, delay or delivery limit)
 * fails with PRECONDITION_FAILED (406), which declareQueueTopology turns into TopologyRefused.
 *
 *   commands exchange (direct) --routing key = queue--> <queue> --consumer--> pipeline
 *        the pipeline says retry:       consumer --publish, expiration = delay--> <queue>.retry.<n>
 *        ...n's TTL expires:            <queue>.retry.<n> --dead-letter, at least once--> <queue>
 *        the pipeline says dead-letter: consumer --publish--> <queue>.dlq (waits for a human)
 *        its consumers keep dying:      <queue> --delivery limit, dead-letter at least once--> <queue>.dlq
 */

/**
 * The work queue and its delay queues are quorum queues: a Raft log, replicated to a majority and
 * fsynced before a publish is confirmed. What a quorum queue dead-letters (a delay's expiry, a
 * delivery limit reached) it keeps until the queue it goes to has confirmed it: without
 * `at-least-once` RabbitMQ dead-letters at most once, so a retry whose way back to its queue
 * failed (the queue missing or unavailable at that moment) would be gone. RabbitMQ takes the
 * at-least-once strategy only with the `reject-publish` overflow (with `drop-head` a full queue
 * would drop a message it still owes); there is no length limit here, so nothing is rejected
 * unless an operator adds one by policy.
 * See https://www.rabbitmq.com/docs/quorum-queues#dead-lettering
 */
const quorumQueue = {
  'x-queue-type': 'quorum',
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
} as const;

/**
 * The dead letter queue stays a durable classic queue. Listing it takes every message out with
 * `basic.get` and hands it back by closing the channel, and a quorum queue counts such returns
 * as deliveries: with RabbitMQ 4.x's default delivery limit of 20 and nowhere to dead-letter to,
 * some twenty `dlq list`s would drop what they list. It also keeps what a human must look at out
 * of any migration of the work queues (README). Naming the type keeps a broker whose default
 * queue type is quorum from choosing differently.
 */
const classicQueue = { 'x-queue-type': 'classic' } as const;

/**
 * How many times a work queue hands out one message that is never settled (its consumer died,
 * its connection or channel closed with it unacked) before RabbitMQ parks it in `<queue>.dlq`.
 * Retries the pipeline asks for do not count: each is a new message from a delay queue. Ten
 * crashes is a crash loop, not bad luck; a message held by a consumer killed that often goes on
 * to be read by a human instead of taking the service down again.
 */
export const defaultDeliveryLimit = 10;

export interface QueueTopologyOptions {
  /** See defaultDeliveryLimit. */
  readonly deliveryLimit?: number;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

export function retryQueueName(queue: string, level: number): string {
  return `${queue}.retry.${level}`;
}

/** One delay queue per backoff level: how long a message waits in it at most. */
export interface RetryLevel {
  readonly level: number;
  readonly maxDelayMs: number;
}

/**
 * The backoff levels a policy needs: level n holds messages after their n-th failed attempt,
 * for up to the policy's nominal delay n. Once the delay reaches the policy's cap every later
 * level would be identical, so they share the first capped one and the queue count stays small
 * however many attempts a policy allows.
 */
export function retryLevels(policy: RetryPolicy): RetryLevel[] {
  const levels: RetryLevel[] = [];
  for (let level = 1; level < policy.maxAttempts; level++) {
    const maxDelayMs = nominalDelayMs(policy, level);
    levels.push({ level, maxDelayMs });
    if (maxDelayMs >= policy.maxDelayMs) break;
  }
  return levels;
}

/** The level, and so the delay queue, a message goes to after its `attempts`-th failure. */
export function retryLevelFor(policy: RetryPolicy, attempts: number): RetryLevel {
  const levels = retryLevels(policy);
  const level = levels[Math.min(attempts, levels.length) - 1];
  if (!level) throw new Error(`no retry level for attempt ${attempts} (maxAttempts ${policy.maxAttempts})`);
  return level;
}

/** Commands go to a direct exchange: the routing key names exactly one queue. */
export async function declareCommandExchange(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'direct', { durable: true });
}

/**
 * A source queue with its bindings, its delay queues and its dead letter queue.
 *
 * Retry without a plugin: a failed message is published to `<queue>.retry.<n>` with a
 * per-message `expiration` (its delay with jitter); the queue's `x-message-ttl` is the level's
 * maximum delay, and when either runs out RabbitMQ dead-letters the message through the default
 * exchange back to `<queue>`, at least once. Attempts are counted in our own headers, never by the
 * broker: a retry is a new message in the work queue, and RabbitMQ 4.3 no longer counts a
 * `nack(requeue=true)` as a delivery. The work queue's `x-delivery-limit` is only the backstop for
 * a message whose consumers die before they can settle it.
 *
 * The head-of-line subtlety: RabbitMQ expires messages only at the head of a queue, so a message
 * with a short expiration waits behind a longer one ahead of it. Within one level every delay
 * lies in [max * (1 - jitter), max], so a message waits at most that jitter spread longer than
 * it asked for; messages never share a level with a much longer delay, which is why there is one
 * queue per level rather than a single delay queue.
 */
export async function declareQueueTopology(
  channel: Channel,
  queue: string,
  exchange: string,
  policy: RetryPolicy,
  { deliveryLimit = defaultDeliveryLimit }: QueueTopologyOptions = {},
): Promise<void> {
  await declare(channel, queue, {
    ...quorumQueue,
    'x-delivery-limit': deliveryLimit,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': deadLetterQueueName(queue),
  });
  await declareCommandExchange(channel, exchange);
  await channel.bindQueue(queue, exchange, queue);
  for (const { level, maxDelayMs } of retryLevels(policy)) {
    await declare(channel, retryQueueName(queue, level), {
      ...quorumQueue,
      'x-message-ttl': maxDelayMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
    });
  }
  await declare(channel, deadLetterQueueName(queue), classicQueue);
}

/** A durable queue as boxoffice declares it; one that exists with other arguments is TopologyRefused. */
async function declare(channel: Channel, queue: string, args: Record<string, unknown>): Promise<void> {
  try {
    await channel.assertQueue(queue, { durable: true, arguments: args });
  } catch (error) {
    if ((error as { code?: unknown }).code === 406) throw new TopologyRefused(queue, args, error as Error);
    throw error;
  }
}

/** Every queue `declareQueueTopology` declares for `queue`, for cleanup in tests and tools. */
export function topologyQueueNames(queue: string, policy: RetryPolicy): string[] {
  return [queue, ...retryLevels(policy).map(({ level }) => retryQueueName(queue, level)), deadLetterQueueName(queue)];
}
