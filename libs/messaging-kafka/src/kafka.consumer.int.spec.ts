import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Outcome } from '@boxoffice/messaging';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KafkaConsumer, type KafkaConsumerOptions } from './kafka.consumer.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { KafkaTopics } from './kafka.topics.js';
import { deleteGroups, fastGroup, fastRetry, RecordingHandler, testEvent, testKafka, TestEvent } from './testing/kafka.fixtures.js';

const kafka = testKafka('consumer-spec');
const topics = new KafkaTopics(kafka);
const publisher = new KafkaPublisher(kafka);
const consumers: KafkaConsumer[] = [];
const created: string[] = [];

async function startConsumer(groupId: string, topic: string, handler: RecordingHandler, options: Partial<KafkaConsumerOptions> = {}) {
  const consumer = new KafkaConsumer(kafka, {
    ...fastGroup,
    groupId,
    subscriptions: [{ consumer: groupId, source: { transport: 'kafka', topic }, messages: [TestEvent], handler }],
    ...options,
  });
  consumers.push(consumer);
  await consumer.start();
  created.push(...consumer.topics.map((t) => `${t}.${groupId}.dlt`));
  return consumer;
}

async function newTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await topics.ensure([{ topic, partitions }]);
  created.push(topic);
  return topic;
}

async function committedOffsets(groupId: string, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => p.offset).sort();
  } finally {
    await admin.disconnect();
  }
}

afterAll(async () => {
  await Promise.all(consumers.map((consumer) => consumer.stop()));
  await publisher.disconnect();
  await topics.delete(created);
  await deleteGroups(kafka, consumers.map((consumer) => consumer.groupId));
});

describe('a consumer group', () => {
  let topic: string;
  let groupId: string;
  const handler = new RecordingHandler();

  beforeAll(async () => {
    topic = await newTopic('consumer_spec_commit', 3);
    groupId = uniqueName('commit_group');
    await startConsumer(groupId, topic, handler);
  });

  it('consumes a record produced with acks=all and commits the offset after it', async () => {
    const message = testEvent(topic, 'order-1');
    await publisher.publish([message]);

    await waitFor(() => handler.done, (done) => done.includes(message.envelope.id), { description: 'the record handled' });
    const committed = await waitFor(() => committedOffsets(groupId, topic), (offsets) => offsets.includes('1'), {
      description: 'offset 1 committed on the record’s partition',
    });
    // One partition got the record and has committed offset 1 (the next to read); the others never committed.
    expect(committed).toEqual(['-1', '-1', '1']);
  });
});

describe('when records on 10 keys are spread over 3 partitions', () => {
  const handler = new RecordingHandler(async () => {
    // A little asynchronous work, so a consumer that ran a partition's records side by side would reorder them.
    for (let turns = Math.floor(Math.random() * 3); turns > 0; turns--) await nextTurn();
    return Outcome.done();
  });

  it('hands each key’s records to the handler in the order they were published', async () => {
    const topic = await newTopic('consumer_spec_order', 3);
    const keys = Array.from({ length: 10 }, (_, i) => `concert-${i}`);
    const messages = Array.from({ length: 200 }, (_, seq) => testEvent(topic, keys[seq % keys.length], seq));
    await publisher.publish(messages.slice(0, 100));
    await publisher.publish(messages.slice(100));

    const consumer = await startConsumer(uniqueName('order_group'), topic, handler);

    await waitFor(() => handler.done.length, (count) => count === 200, { description: '200 records handled' });
    const lag = await consumer.lag();
    expect(lag.partitions.filter((p) => p.highWatermark > 0).length).toBeGreaterThan(1);
    for (const key of keys) {
      const seen = handler.deliveries.filter((d) => d.envelope.payload.key === key).map((d) => d.envelope.payload.seq);
      const published = messages.filter((m) => m.destination.transport === 'kafka' && m.destination.key === key).map((m) => (m.envelope.payload as { seq: number }).seq);
      expect(seen).toEqual(published);
    }
  });
});

describe('when two consumer groups read one topic', () => {
  it('gives each group its own copy of every event', async () => {
    const topic = await newTopic('consumer_spec_fanout', 3);
    const billing = new RecordingHandler();
    const email = new RecordingHandler();
    await Promise.all([startConsumer(uniqueName('billing'), topic, billing), startConsumer(uniqueName('email'), topic, email)]);

    const message = testEvent(topic, 'order-7');
    await publisher.publish([message]);

    await waitFor(() => [billing.done, email.done], ([b, e]) => b.length === 1 && e.length === 1, { description: 'both groups handled it' });
    expect(billing.done).toEqual([message.envelope.id]);
    expect(email.done).toEqual([message.envelope.id]);
  });
});

describe('when a consumer is stopped', () => {
  it('lets the record being handled finish, commits it, then leaves', async () => {
    const topic = await newTopic('consumer_spec_stop', 1);
    const groupId = uniqueName('stop_group');
    let busy = false;
    const statesSeenAtTheEnd: string[] = [];
    // The handler is busy when stop() is called, and finishes only once the consumer is stopping.
    const handler = new RecordingHandler(async () => {
      busy = true;
      await waitFor(() => consumer.state, (state) => state === 'stopping', { description: 'stop called' });
      statesSeenAtTheEnd.push(consumer.state);
      return Outcome.done();
    });
    const consumer = await startConsumer(groupId, topic, handler);
    await publisher.publish([testEvent(topic, 'order-1')]);
    await waitFor(() => busy, Boolean, { description: 'the handler busy with the record' });

    await consumer.stop();

    expect(statesSeenAtTheEnd).toEqual(['stopping']);
    expect(handler.done).toHaveLength(1);
    expect(await committedOffsets(groupId, topic)).toEqual(['1']);
  });

  it('abandons a retry it is waiting on, leaving the record uncommitted for the next owner', async () => {
    const topic = await newTopic('consumer_spec_stop_retry', 1);
    const groupId = uniqueName('stop_retry_group');
    const handler = new RecordingHandler(() => Outcome.retry('card service down'));
    const consumer = await startConsumer(groupId, topic, handler, { retryPolicy: { ...fastRetry, initialDelayMs: 60_000 } });
    await publisher.publish([testEvent(topic, 'order-1')]);
    await waitFor(() => handler.deliveries.length, (n) => n === 1, { description: 'the first attempt' });

    const started = Date.now();
    await consumer.stop();

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await committedOffsets(groupId, topic)).toEqual(['-1']);
  });
});
