import { catalog, channelsOf, servicesOf, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';
import { deadLetterLogOf, type IamPolicy, type IamStatement } from '@boxoffice/messaging';
import { streamOf } from './kinesis.streams.js';

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
export function kinesisPolicies(entries: ReadonlyArray<CatalogEntry> = catalog): Map<ServiceName, IamPolicy> {
  const policies = new Map<ServiceName, IamPolicy>();
  for (const service of servicesOf(entries)) {
    const { sends, reads } = channelsOf(service, 'event', entries);
    const publishes = sends.map((channel) => arn(streamOf(channel)));
    const subscribed = reads.map((channel) => arn(streamOf(channel)));
    // The group is `<namespace>.<service>` (Routing.consumerGroupOf): the namespace is what the `*` before the stream matches.
    const deadLetters = reads.map((channel) => arn(deadLetterLogOf(streamOf(channel), `*${service}`)));
    const statements: IamStatement[] = [];
    if (publishes.length > 0)
      statements.push({
        Sid: 'PublishEvents',
        Effect: 'Allow',
        Action: [...PROVISION, 'kinesis:PutRecords'],
        Resource: publishes,
      });
    if (reads.length > 0) {
      statements.push({ Sid: 'ReadEvents', Effect: 'Allow', Action: [...PROVISION, ...READ], Resource: subscribed });
      statements.push({
        Sid: 'OwnDeadLetters',
        Effect: 'Allow',
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
