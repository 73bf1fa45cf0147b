import { catalog, channelsOf, servicesOf, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';
import type { IamPolicy, IamStatement } from '@boxoffice/messaging';
import { deadLetterQueueNameOf, queueNameOf } from './sqs.queues.js';

/** Making a queue and its dead letter queue, or checking and updating their attributes (SqsQueues.provision), and reading their depth. */
const PROVISION = ['sqs:CreateQueue', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:SetQueueAttributes'];
/** Taking messages and settling them; the batch calls (DeleteMessageBatch, ...) are authorized by these. */
const CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'];

/**
 * The IAM policy each service needs on real SQS, read from the catalog, for the commands SQS
 * carries (ElasticMQ, here, checks no permission). A service that sends to a queue makes it (so
 * that a command sent before its consumer started waits) and sends to it; the service that reads
 * it also takes and settles its messages, sends to it (resumed jobs, replays) and to its dead
 * letter queue (dead-lettering), and reads the dead letter queue (npm run dlq). A service the
 * catalog gives no command gets no policy. Resources match the queue names in any namespace and
 * region (`*` before the name; SqsQueues names them); names longer than SQS allows are shortened
 * with a hash, and a deployment with such a namespace writes its ARNs out.
 */
export function sqsPolicies(entries: ReadonlyArray<CatalogEntry> = catalog): Map<ServiceName, IamPolicy> {
  const policies = new Map<ServiceName, IamPolicy>();
  for (const service of servicesOf(entries)) {
    const { sends, reads } = channelsOf(service, 'command', entries);
    if (sends.length === 0 && reads.length === 0) continue;
    const queuesOf = (channels: string[]) =>
      channels.flatMap((channel) => [arn(queueNameOf(channel, 'fifo')), arn(queueNameOf(channel, 'standard'))]);
    const deadLettersOf = (channels: string[]) =>
      channels.flatMap((channel) => [arn(deadLetterQueueNameOf(channel, 'fifo')), arn(deadLetterQueueNameOf(channel, 'standard'))]);
    const all = [...new Set([...sends, ...reads])];
    const statements: IamStatement[] = [
      { Sid: 'ProvisionQueues', Effect: 'Allow', Action: PROVISION, Resource: [...queuesOf(all), ...deadLettersOf(all)] },
      { Sid: 'SendCommands', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [...queuesOf(all), ...deadLettersOf(reads)] },
    ];
    if (reads.length > 0)
      statements.push({
        Sid: 'ConsumeCommands',
        Effect: 'Allow',
        Action: CONSUME,
        Resource: [...queuesOf(reads), ...deadLettersOf(reads)],
      });
    policies.set(service, { Version: '2012-10-17', Statement: statements });
  }
  return policies;
}

/** A queue's ARN in any region and account, and any namespace (the prefix before the name). */
function arn(queue: string): string {
  return `arn:aws:sqs:*:*:*${queue}`;
}
