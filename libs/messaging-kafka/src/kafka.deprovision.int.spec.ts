import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { withAdmin } from './kafka.client.js';
import { readGroupLag } from './kafka.lag.js';
import { KafkaReplay } from './kafka.replay.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { KafkaTransport } from './kafka.transport.js';
import {
  brokers,
  operatorAccount,
  deleteGroups,
  fastGroup,
  pipelineDatabase,
  RecordingHandler,
  testConsumer,
  testEvent,
} from './testing/kafka.fixtures.js';

describe('deprovisioning a channel on Kafka', () => {
  const transport = new KafkaTransport({
    brokers,
    account: operatorAccount,
    clientId: 'deprovision-spec',
    partitions: 1,
    consumer: fastGroup,
  });
  const topic = uniqueName('deprovision_topic');
  // Its name starts with the topic's, so its dead letters look like the topic's to a prefix.
  const longer = `${topic}.kept`;
  const reader = uniqueName('deprovision_reader');
  const alsoElsewhere = uniqueName('deprovision_elsewhere');
  const topics = () =>
    withAdmin(transport.kafka, async (admin) => (await admin.listTopics()).filter((name) => name.startsWith(topic)).sort());
  const groups = () => withAdmin(transport.kafka, async (admin) => (await admin.listGroups()).groups.map(({ groupId }) => groupId));
  let db: TestDatabase;

  /** Runs a group on the topic until it has committed the one record there, then stops it: an idle group with offsets. */
  async function readToEnd(groupId: string): Promise<void> {
    const { consumer } = testConsumer(transport.kafka, db, groupId, topic, new RecordingHandler());
    await consumer.start();
    try {
      await waitFor(
        () => withAdmin(transport.kafka, (admin) => readGroupLag(admin, groupId, [topic])),
        (lag) => lag.total === 0 && lag.partitions.some((p) => p.committed > 0),
        {
          description: `${groupId} caught up`,
        },
      );
    } finally {
      await consumer.stop();
    }
  }

  beforeAll(async () => {
    db = await pipelineDatabase('kafka_deprovision');
    await transport.connect();
    await transport.provision([topic, longer]);
    await new KafkaTopics(transport.kafka).ensure([{ topic: deadLetterTopicOf(longer, 'email'), partitions: 1 }]);
    await transport.publish([testEvent(topic, 'key')]);
    await readToEnd(reader);
    await readToEnd(alsoElsewhere);
    // This group also keeps a position on another topic: deleting it would lose that one.
    await new KafkaReplay(transport.kafka).fromEarliest(alsoElsewhere, longer);
  });

  afterAll(async () => {
    await transport.deprovision([longer]);
    await deleteGroups(transport.kafka, [alsoElsewhere]);
    await transport.close();
    await db.drop();
  });

  it('deletes its topic, its groups’ dead-letter topics and its idle groups, and leaves the rest alone', async () => {
    expect(await topics()).toEqual(
      [topic, deadLetterTopicOf(topic, alsoElsewhere), deadLetterTopicOf(topic, reader), longer, deadLetterTopicOf(longer, 'email')].sort(),
    );

    await transport.deprovision([topic]);

    const kept = [longer, deadLetterTopicOf(longer, 'email')].sort();
    await waitFor(topics, (names) => names.join() === kept.join(), { description: 'only the longer topic and its dead letters left' });
    const left = await groups();
    expect(left).not.toContain(reader);
    expect(left).toContain(alsoElsewhere);
  });
});
