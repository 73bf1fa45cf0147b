import type { Channel } from 'amqplib';
import { nominalDelayMs, type RetryPolicy } from '@boxoffice/messaging';

/**
 * The RabbitMQ side of the system, declared from code so a fresh broker needs no setup and a
 * reader finds the whole picture here. Every declaration is idempotent: each service declares
 * what it uses when it (re)connects, and declaring the same thing twice with the same arguments
 * is a no-op. Declaring it with *different* arguments fails with PRECONDITION_FAILED (406), so
 * changing a retry policy's delays means deleting the old `<queue>.retry.<n>` queues first.
 *
 *   commands exchange (direct) --routing key = queue--> <queue> --consumer--> pipeline
 *        the pipeline says retry:       consumer --publish, expiration = delay--> <queue>.retry.<n>
 *        ...n's TTL expires:            <queue>.retry.<n> --dead-letter to '' / <queue>--> <queue>
 *        the pipeline says dead-letter: consumer --publish--> <queue>.dlq (waits for a human)
 */

/**
 * Every queue is a durable classic queue: classic behaves the same on RabbitMQ 3.10 and 4.x for
 * all we rely on (per-message TTL, dead-lettering on expiry, requeue of unacked messages), and
 * durable because 4.x refuses transient non-exclusive queues. Naming the type keeps a broker
 * whose default queue type is quorum from choosing differently.
 */
const classicQueue = { 'x-queue-type': 'classic' } as const;

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
 * exchange back to `<queue>`. Attempts are counted in our own headers, never by the broker:
 * requeue counting (`x-delivery-limit`) is a quorum-queue feature, and RabbitMQ 4.x no longer
 * counts `nack(requeue=true)` toward it.
 *
 * The head-of-line subtlety: RabbitMQ expires messages only at the head of a queue, so a message
 * with a short expiration waits behind a longer one ahead of it. Within one level every delay
 * lies in [max * (1 - jitter), max], so a message waits at most that jitter spread longer than
 * it asked for; messages never share a level with a much longer delay, which is why there is one
 * queue per level rather than a single delay queue.
 */
export async function declareQueueTopology(channel: Channel, queue: string, exchange: string, policy: RetryPolicy): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: classicQueue });
  await declareCommandExchange(channel, exchange);
  await channel.bindQueue(queue, exchange, queue);
  for (const { level, maxDelayMs } of retryLevels(policy)) {
    await channel.assertQueue(retryQueueName(queue, level), {
      durable: true,
      arguments: {
        ...classicQueue,
        'x-message-ttl': maxDelayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
      },
    });
  }
  await channel.assertQueue(deadLetterQueueName(queue), { durable: true, arguments: classicQueue });
}

/** Every queue `declareQueueTopology` declares for `queue`, for cleanup in tests and tools. */
export function topologyQueueNames(queue: string, policy: RetryPolicy): string[] {
  return [queue, ...retryLevels(policy).map(({ level }) => retryQueueName(queue, level)), deadLetterQueueName(queue)];
}
