import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { withAdmin } from './kafka.client.js';
import { readGroupLag } from './kafka.lag.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { KafkaReplay } from './kafka.replay.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { deleteGroups, pipelineDatabase, RecordingHandler, testConsumer, testEvent, testKafka } from './testing/kafka.fixtures.js';

const kafka = testKafka('replay-spec');
const topics = new KafkaTopics(kafka);
const publisher = new KafkaPublisher(kafka);
const replay = new KafkaReplay(kafka);
const topic = uniqueName('replay_spec');
const groupId = uniqueName('replay_group');

const before = Array.from({ length: 3 }, (_, seq) => testEvent(topic, `key-${seq}`, seq));
const after = Array.from({ length: 3 }, (_, seq) => testEvent(topic, `key-${seq}`, seq + 3));
const ids = (messages: typeof before) => messages.map((message) => message.envelope.id).sort();
let cut: Date;
let db: TestDatabase;

/** Runs the group until it has settled everything on the topic, and returns what it handled. */
async function runGroupToEnd(): Promise<string[]> {
  const handler = new RecordingHandler();
  const { consumer } = testConsumer(kafka, db, groupId, topic, handler);
  await consumer.start();
  try {
    await waitFor(
      () => withAdmin(kafka, (admin) => readGroupLag(admin, groupId, [topic])),
      (lag) => lag.total === 0 && lag.partitions.some((p) => p.committed > 0),
      { description: 'the group caught up' },
    );
  } finally {
    await consumer.stop();
  }
  return [...handler.done].sort();
}

beforeAll(async () => {
  db = await pipelineDatabase('kafka_replay');
  await topics.ensure([{ topic, partitions: 3 }]);
  await publisher.publish(before);
  // Record timestamps are set by the producer in ms: let the clock pass the cut before the rest.
  cut = new Date(Date.now() + 1);
  await waitFor(() => Date.now() > cut.getTime(), Boolean, { intervalMs: 1, description: 'the clock past the cut' });
  await publisher.publish(after);
  expect(await runGroupToEnd()).toEqual(ids([...before, ...after]));
});

afterAll(async () => {
  await publisher.disconnect();
  await topics.delete([topic, deadLetterTopicOf(topic, groupId)]);
  await deleteGroups(kafka, [groupId]);
  await db.drop();
});

describe('replaying a topic for a stopped consumer group', () => {
  it('from the earliest offset, hands the group every record again', async () => {
    await replay.fromEarliest(groupId, topic);
    expect(await runGroupToEnd()).toEqual(ids([...before, ...after]));
  });

  it('from a timestamp, hands the group only the records written since', async () => {
    await replay.fromTimestamp(groupId, topic, cut);
    expect(await runGroupToEnd()).toEqual(ids(after));
  });
});
