import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { uniqueName } from '@boxoffice/testing';
import type { Message } from 'kafkajs';
import { withAdmin } from './kafka.client.js';
import { KafkaDeadLetters } from './kafka.dead-letters.js';
import { whileKafkaSettles } from './kafka.propagation.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { KafkaTransport } from './kafka.transport.js';
import { brokers, operatorAccount, deleteGroups, testKafka } from './testing/kafka.fixtures.js';

// What the metrics read to warn before a record expires (docs/observability.md): a group's lag in
// time per partition against the topic's retention, and the oldest dead letter against its
// topic's. Records are written with known timestamps, hours old, so each reading is exact.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const now = Date.now();
const hoursAgo = (hours: number) => now - hours * HOUR_MS;
const recordAt = (at: number, value: string): Message => ({ key: value, value, timestamp: String(at), partition: 0 });

const kafka = testKafka('expiry-spec');
const topics = new KafkaTopics(kafka);
const transport = new KafkaTransport({ brokers, account: operatorAccount, clientId: 'expiry-spec' });
const topic = uniqueName('expiry_spec');
const group = uniqueName('expiry_group');
const deadLetterTopic = deadLetterTopicOf(topic, group);
const groups: string[] = [];

/** The group's depth, once the broker has a coordinator for a group it never saw (a scrape would just read again). */
const depthOf = (groupId: string) => whileKafkaSettles(() => transport.depth(topic, groupId));

/** A group with these offsets committed on the topic, as a group that read so far would have. */
async function groupAt(offsets: Record<number, number>): Promise<string> {
  const groupId = uniqueName('expiry_group');
  groups.push(groupId);
  await withAdmin(kafka, (admin) =>
    admin.setOffsets({
      groupId,
      topic,
      partitions: Object.entries(offsets).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) })),
    }),
  );
  return groupId;
}

beforeAll(async () => {
  await topics.ensure([
    { topic, partitions: 2, retentionMs: 7 * DAY_MS },
    { topic: deadLetterTopic, partitions: 1, retentionMs: 14 * DAY_MS },
  ]);
  const producer = kafka.producer();
  await producer.connect();
  try {
    // Partition 0 holds three records, 3, 2 and 1 hours old; partition 1 none.
    await producer.send({
      topic,
      acks: -1,
      messages: [recordAt(hoursAgo(3), 'a'), recordAt(hoursAgo(2), 'b'), recordAt(hoursAgo(1), 'c')],
    });
    await producer.send({ topic: deadLetterTopic, acks: -1, messages: [recordAt(hoursAgo(5), 'x'), recordAt(hoursAgo(4), 'y')] });
  } finally {
    await producer.disconnect();
  }
});

afterAll(async () => {
  await transport.close();
  await topics.delete([topic, deadLetterTopic]);
  await deleteGroups(kafka, groups);
});

describe("a consumer group's lag in time", () => {
  it('is the age of the oldest record the topic keeps, for a group that never committed; 0 where nothing waits', async () => {
    const depth = await depthOf(group);
    expect(depth.partitions).toEqual([
      { partition: 0, waiting: 3, oldestAt: hoursAgo(3) },
      { partition: 1, waiting: 0, oldestAt: null },
    ]);
  });

  it('is the time of the record at the committed offset, and nothing once the group has read all', async () => {
    const halfway = await groupAt({ 0: 2, 1: 0 });
    expect((await depthOf(halfway)).partitions?.[0]).toEqual({ partition: 0, waiting: 1, oldestAt: hoursAgo(1) });
    const caughtUp = await groupAt({ 0: 3, 1: 0 });
    expect((await depthOf(caughtUp)).partitions?.[0]).toEqual({ partition: 0, waiting: 0, oldestAt: null });
  });

  it('counts from the oldest record still kept when the ones the group had not read are gone', async () => {
    const behind = await groupAt({ 0: 0, 1: 0 });
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1' }] });
    });
    expect((await depthOf(behind)).partitions?.[0]).toMatchObject({ partition: 0, oldestAt: hoursAgo(2) });
  });

  it("comes with the topic's retention", async () => {
    await expect(depthOf(group)).resolves.toMatchObject({ retentionMs: 7 * DAY_MS });
  });
});

describe("a dead-letter topic's oldest letter", () => {
  const store = new KafkaDeadLetters(kafka, [{ channel: topic, consumers: [group] }]);

  it('is the time of the record at its start, with the topic’s retention', async () => {
    await expect(store.counts()).resolves.toEqual([
      { store: deadLetterTopic, messages: 2, oldestAt: hoursAgo(5), retentionMs: 14 * DAY_MS },
    ]);
  });

  it('moves on when the start does (a replay of the oldest), and is none once the topic is purged', async () => {
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicMetadata({ topics: [deadLetterTopic] });
      await admin.deleteTopicRecords({ topic: deadLetterTopic, partitions: [{ partition: 0, offset: '1' }] });
    });
    await expect(store.counts()).resolves.toEqual([expect.objectContaining({ messages: 1, oldestAt: hoursAgo(4) })]);
    await store.purge();
    await expect(store.counts()).resolves.toEqual([expect.objectContaining({ messages: 0, oldestAt: null })]);
  });
});
