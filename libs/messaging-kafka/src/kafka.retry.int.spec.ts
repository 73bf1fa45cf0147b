import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeadLetterHeaders, Outcome } from '@boxoffice/messaging';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { KafkaConsumer } from './kafka.consumer.js';
import { EnvelopeHeaders, KafkaDeadLetterHeaders } from './kafka.headers.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { readTopicToEnd, type TopicRecord } from './kafka.topic-reader.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { deleteGroups, fastGroup, fastRetry, RecordingHandler, testEvent, testKafka, TestEvent } from './testing/kafka.fixtures.js';

const kafka = testKafka('retry-spec');
const topics = new KafkaTopics(kafka);
const publisher = new KafkaPublisher(kafka);
// One partition, so "the records behind it" are unambiguous.
const topic = uniqueName('retry_spec');
const groupId = uniqueName('retry_group');
const deadLetterTopic = deadLetterTopicOf(topic, groupId);

// Behaviour by key: `flaky` fails twice then succeeds, `broken` always throws, the rest succeed.
const handler = new RecordingHandler((envelope, attempt) => {
  if (envelope.payload.key === 'flaky' && attempt <= 2) return Outcome.retry(`flaky attempt ${attempt}`);
  if (envelope.payload.key === 'broken') throw new Error('card service down');
  return Outcome.done();
});
const consumer = new KafkaConsumer(kafka, {
  ...fastGroup,
  groupId,
  subscriptions: [{ consumer: groupId, source: { transport: 'kafka', topic }, messages: [TestEvent], handler }],
});

async function deadLetterOf(id: string): Promise<TopicRecord> {
  const records = await waitFor(
    () => readTopicToEnd(kafka, deadLetterTopic),
    (all) => all.some((record) => record.headers[EnvelopeHeaders.messageId] === id),
    { description: `${id} in ${deadLetterTopic}` },
  );
  return records.find((record) => record.headers[EnvelopeHeaders.messageId] === id)!;
}

beforeAll(async () => {
  await topics.ensure([{ topic, partitions: 1 }]);
  await consumer.start();
});

afterAll(async () => {
  await consumer.stop();
  await publisher.disconnect();
  await topics.delete([topic, deadLetterTopic]);
  await deleteGroups(kafka, [groupId]);
});

describe('when a handler fails twice, then succeeds', () => {
  it('handles the record once, after backing off between attempts', async () => {
    const message = testEvent(topic, 'flaky');
    await publisher.publish([message]);

    await waitFor(() => handler.done, (done) => done.includes(message.envelope.id), { description: 'the flaky record handled' });
    const deliveries = handler.deliveriesOf(message.envelope.id);
    expect(deliveries.map((d) => d.outcome.kind)).toEqual(['retry', 'retry', 'done']);
    // Jitter is off in the fast policy, so the nominal delays (20 ms, then 40 ms) are lower bounds.
    expect(deliveries[1].at - deliveries[0].at).toBeGreaterThanOrEqual(fastRetry.initialDelayMs);
    expect(deliveries[2].at - deliveries[1].at).toBeGreaterThanOrEqual(fastRetry.initialDelayMs * fastRetry.multiplier);
  });
});

describe('when a handler always fails for one record', () => {
  const broken = testEvent(topic, 'broken');
  const behind = [testEvent(topic, 'after-1'), testEvent(topic, 'after-2')];

  beforeAll(() => publisher.publish([broken, ...behind]));

  it('moves it to the group’s dead-letter topic after 5 attempts, with why and where from', async () => {
    const record = await deadLetterOf(broken.envelope.id);
    expect(handler.deliveriesOf(broken.envelope.id)).toHaveLength(fastRetry.maxAttempts);
    expect(record.headers).toMatchObject({
      [DeadLetterHeaders.attempts]: '5',
      [DeadLetterHeaders.lastError]: 'card service down',
      [DeadLetterHeaders.originalSource]: topic,
      [DeadLetterHeaders.consumer]: groupId,
      [KafkaDeadLetterHeaders.originalPartition]: '0',
      [EnvelopeHeaders.type]: TestEvent.type,
    });
    expect(Date.parse(record.headers[DeadLetterHeaders.lastFailureAt])).toBeGreaterThan(Date.parse(record.headers[DeadLetterHeaders.firstFailureAt]));
    expect(record.key?.toString()).toBe('broken');
    expect(JSON.parse(record.value!.toString())).toEqual(broken.envelope);
  });

  it('goes on with the records behind it in the same partition', async () => {
    const ids = behind.map((message) => message.envelope.id);
    await waitFor(() => handler.done, (done) => ids.every((id) => done.includes(id)), { description: 'the records behind the broken one handled' });
    expect(handler.done.filter((id) => ids.includes(id))).toEqual(ids);
    await waitFor(() => consumer.lag(), (lag) => lag.total === 0, { description: 'the group caught up' });
  });
});

describe('when a record is not a valid message', () => {
  it('moves it to the dead-letter topic at once, without calling the handler', async () => {
    const message = testEvent(topic, 'bad');
    const invalid = { ...message.envelope, payload: { key: 'bad', seq: 'not a number' } };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'bad', value: JSON.stringify(invalid), headers: { [EnvelopeHeaders.messageId]: invalid.id } }] });
    await producer.disconnect();

    const record = await deadLetterOf(invalid.id);
    expect(record.headers[DeadLetterHeaders.attempts]).toBe('1');
    expect(record.headers[DeadLetterHeaders.lastError]).toMatch(/^invalid KafkaTestEvent v1 payload: seq:/);
    expect(handler.deliveriesOf(invalid.id)).toEqual([]);
  });
});

describe('when the topic carries an event type this group does not subscribe to', () => {
  it('passes over it without dead-lettering it, and goes on with the records behind it', async () => {
    const someoneElses = { ...testEvent(topic, 'other'), envelope: { ...testEvent(topic, 'other').envelope, type: 'SomethingElseHappened' } };
    const behind = testEvent(topic, 'after-foreign');
    const skippedBefore = consumer.counters.skipped;
    await publisher.publish([someoneElses, behind]);

    await waitFor(() => handler.done, (done) => done.includes(behind.envelope.id), { description: 'the record behind it handled' });
    expect(consumer.counters.skipped).toBe(skippedBefore + 1);
    expect(handler.deliveriesOf(someoneElses.envelope.id)).toEqual([]);
    const parked = await readTopicToEnd(kafka, deadLetterTopic);
    expect(parked.some((record) => record.headers[EnvelopeHeaders.messageId] === someoneElses.envelope.id)).toBe(false);
  });
});
