import { catalog, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';
import { deadLetterLogOf } from '@boxoffice/messaging';
import { streamOf } from './kinesis.streams.js';

/** An AWS IAM policy document: what one service's role may do on Kinesis. */
export interface KinesisPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<{
    readonly Sid: string;
    readonly Effect: 'Allow';
    readonly Action: string[];
    readonly Resource: string[];
  }>;
}

/** Making a stream, or finding it made (KinesisStreams.ensure), and reading its summary (depth, retention). */
const PROVISION = ['kinesis:CreateStream', 'kinesis:DescribeStreamSummary'];
/** Reading a stream's shards from a checkpoint (ShardReader); leases and checkpoints are in the service's own database, not DynamoDB. */
const READ = ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'];

/**
 * The IAM policy each service needs on real Kinesis, read from the catalog, for the events Kinesis
 * carries (kinesis-local, here, checks no permission). A service makes and writes the streams it
 * publishes to; it makes and reads the streams it subscribes to, and makes, writes and reads its
 * own dead-letter stream of each (`<stream>.<group>.dlt`: its group's, nobody else's). Resources
 * match in any namespace, region and account (`*` before the name).
 */
export function kinesisPolicies(entries: ReadonlyArray<CatalogEntry> = catalog): Map<ServiceName, KinesisPolicy> {
  const events = entries.filter((entry) => entry.message.kind === 'event');
  const policies = new Map<ServiceName, KinesisPolicy>();
  for (const service of unique(entries.flatMap((e) => [e.publisher, ...e.consumers]))) {
    const publishes = unique(events.filter((e) => e.publisher === service).map((e) => arn(streamOf(e.channel))));
    const reads = unique(events.filter((e) => e.consumers.includes(service)).map((e) => e.channel));
    const subscribed = reads.map((channel) => arn(streamOf(channel)));
    // The group is `<namespace>.<service>` (Routing.consumerGroupOf): the namespace is what the `*` before the stream matches.
    const deadLetters = reads.map((channel) => arn(deadLetterLogOf(streamOf(channel), `*${service}`)));
    const statements = [];
    if (publishes.length > 0)
      statements.push({
        Sid: 'PublishEvents',
        Effect: 'Allow' as const,
        Action: [...PROVISION, 'kinesis:PutRecords'],
        Resource: publishes,
      });
    if (reads.length > 0) {
      statements.push({ Sid: 'ReadEvents', Effect: 'Allow' as const, Action: [...PROVISION, ...READ], Resource: subscribed });
      statements.push({
        Sid: 'OwnDeadLetters',
        Effect: 'Allow' as const,
        Action: [...PROVISION, 'kinesis:PutRecords', ...READ],
        Resource: deadLetters,
      });
    }
    if (statements.length > 0) policies.set(service, { Version: '2012-10-17', Statement: statements });
  }
  return policies;
}

/** A stream's ARN in any region and account, and any namespace (the prefix before the name). */
function arn(stream: string): string {
  return `arn:aws:kinesis:*:*:stream/*${stream}`;
}

function unique<T>(values: ReadonlyArray<T>): T[] {
  return [...new Set(values)];
}
