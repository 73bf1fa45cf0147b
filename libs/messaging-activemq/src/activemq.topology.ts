import type { RetryPolicy } from '@boxoffice/messaging';

/**
 * What Artemis keeps for each work queue, all created from code when a queue is provisioned:
 *
 *   address <queue> (ANYCAST) -> queue <queue> --consumers compete--> pipeline
 *     address settings, match "<queue>": the broker's own retries and dead-lettering
 *       retry:        the consumer settles `modified` (delivery failed); the broker counts the
 *                     attempt and redelivers after redelivery-delay x multiplier^(n-1)
 *       attempts up:  after max-delivery-attempts the broker moves it to the dead-letter address
 *   address <queue>.dlq (ANYCAST) -> queue <queue>.dlq: what waits for a human (the dlq tool)
 *
 * Address settings go through the broker's management address at run time (addAddressSettings),
 * so each queue gets the retry policy of the service that provisions it; the broker keeps them
 * in its journal across restarts.
 */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

/** Artemis' AddressSettings, as the JSON `addAddressSettings` takes (field names are Artemis'). */
export interface AddressSettings {
  readonly deadLetterAddress: string;
  readonly expiryAddress: string;
  readonly maxDeliveryAttempts: number;
  readonly redeliveryDelay: number;
  readonly redeliveryMultiplier: number;
  readonly maxRedeliveryDelay: number;
  readonly autoCreateDeadLetterResources: boolean;
  readonly autoDeleteQueues: boolean;
  readonly autoDeleteAddresses: boolean;
}

/**
 * A retry policy as Artemis address settings. The broker's n-th redelivery waits
 * `initialDelayMs × multiplier^(n-1)`, capped at `maxDelayMs`: the policy's nominal delays. It has
 * no jitter, so a burst of failures comes back together. `maxDeliveryAttempts` is the policy's
 * `maxAttempts`: the pipeline dead-letters on that attempt itself (with its failure record), so
 * the broker's own limit only catches a message whose consumers kept dying while holding it.
 * Expired messages (none carry a TTL today) would be parked with the dead letters too.
 */
export function addressSettingsFor(queue: string, policy: RetryPolicy): AddressSettings {
  return {
    deadLetterAddress: deadLetterQueueName(queue),
    expiryAddress: deadLetterQueueName(queue),
    maxDeliveryAttempts: policy.maxAttempts,
    redeliveryDelay: policy.initialDelayMs,
    redeliveryMultiplier: policy.multiplier,
    maxRedeliveryDelay: policy.maxDelayMs,
    autoCreateDeadLetterResources: false,
    autoDeleteQueues: false,
    autoDeleteAddresses: false,
  };
}

/** An ANYCAST queue on an address of its own name, as `createQueue` takes it. */
export function queueConfigurationFor(queue: string): Record<string, unknown> {
  return { name: queue, address: queue, 'routing-type': 'ANYCAST', durable: true };
}
