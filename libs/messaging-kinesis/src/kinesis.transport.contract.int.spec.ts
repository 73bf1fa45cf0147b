import { describeTransportContract } from '@boxoffice/messaging-contract';
import { PgTransactionRunner } from '@boxoffice/messaging';
import { uniqueName } from '@boxoffice/testing';
import { KinesisTransport } from './kinesis.transport.js';
import { deleteStreamAndItsOwn, endpoint, fastConsumer } from './testing/kinesis.fixtures.js';

describeTransportContract({
  name: 'kinesis',
  kind: 'event',
  tellsDeadLetterAge: true,
  async channel(_policy, name, database) {
    const stream = name ?? uniqueName('contract_stream');
    // Checkpoints and leases in the suite's database, beside the inbox the pipeline writes.
    const transport = new KinesisTransport({
      endpoint,
      database: new PgTransactionRunner(database.pool),
      shards: 2,
      consumer: fastConsumer,
    });
    await transport.connect();
    return {
      transport,
      channel: stream,
      cleanup: () => deleteStreamAndItsOwn(transport.client, stream).catch(() => undefined),
    };
  },
});
