import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeadLetterHeaders, Outcome } from '@boxoffice/messaging';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { KafkaConsumer } from './kafka.consumer.js';
import { KafkaDeadLetters } from './kafka.dead-letters.js';
import { EnvelopeHeaders } from './kafka.headers.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { readTopicToEnd } from './kafka.topic-reader.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { deleteGroups, fastGroup, RecordingHandler, testEvent, testKafka, TestEvent } from './testing/kafka.fixtures.js';

const kafka = testKafka('dead-letters-spec');
const topics = new KafkaTopics(kafka);
const publisher = new KafkaPublisher(kafka);
const deadLetters = new KafkaDeadLetters(kafka);
const topic = uniqueName('dlq_spec');
const groupId = uniqueName('dlq_group');
const deadLetterTopic = deadLetterTopicOf(topic, groupId);

// The handler refuses the ids in `refused` for good, until a test takes them out (the "fix").
const refused = new Set<string>();
const handler = new RecordingHandler((envelope) => (refused.has(envelope.id) ? Outcome.deadLetter('seat map missing') : Outcome.done()));
const consumer = new KafkaConsumer(kafka, {
  ...fastGroup,
  groupId,
  subscriptions: [{ consumer: groupId, source: { transport: 'kafka', topic }, messages: [TestEvent], handler }],
});

async function deadLetter(...messages: ReturnType<typeof testEvent>[]): Promise<void> {
  for (const message of messages) refused.add(message.envelope.id);
  const before = consumer.counters.deadLettered;
  await publisher.publish(messages);
  await waitFor(() => consumer.counters.deadLettered, (count) => count === before + messages.length, { description: 'dead-lettered' });
}

beforeAll(async () => {
  await topics.ensure([{ topic, partitions: 3 }]);
  await consumer.start();
});

afterAll(async () => {
  await consumer.stop();
  await publisher.disconnect();
  await topics.delete([topic, deadLetterTopic]);
  await deleteGroups(kafka, [groupId]);
});

describe('a dead letter', () => {
  const message = testEvent(topic, 'order-1');
  beforeAll(() => deadLetter(message));

  it('is listed with its failure and where it came from', async () => {
    const listed = await deadLetters.list(deadLetterTopic);
    expect(listed).toEqual([
      expect.objectContaining({
        id: message.envelope.id,
        type: TestEvent.type,
        attempts: 1,
        lastError: 'seat map missing',
        originalSource: topic,
        consumer: groupId,
        partition: 0,
        offset: '0',
      }),
    ]);
    expect(await deadLetters.listTopics()).toContainEqual({ topic: deadLetterTopic, records: 1 });
  });

  it('replayed, goes back to its topic, is handled there, and is no longer listed', async () => {
    refused.delete(message.envelope.id);
    await expect(deadLetters.replay(deadLetterTopic, message.envelope.id)).resolves.toBe(1);

    await waitFor(() => handler.done, (done) => done.includes(message.envelope.id), { description: 'the replayed record handled' });
    await expect(deadLetters.list(deadLetterTopic)).resolves.toEqual([]);
    const copies = (await readTopicToEnd(kafka, topic)).filter((record) => record.headers[EnvelopeHeaders.messageId] === message.envelope.id);
    expect(copies).toHaveLength(2);
    expect(copies[1].key?.toString()).toBe('order-1');
    expect(copies[1].headers[DeadLetterHeaders.attempts]).toBeUndefined();
  });
});

describe('when one of several dead letters is replayed', () => {
  const first = testEvent(topic, 'order-2');
  const second = testEvent(topic, 'order-3');
  // One after the other, so the first waits in front of the second in the dead-letter topic.
  beforeAll(async () => {
    await deadLetter(first);
    await deadLetter(second);
  });

  it('lists only the one still waiting', async () => {
    refused.delete(second.envelope.id);
    await deadLetters.replay(deadLetterTopic, second.envelope.id);

    await waitFor(() => handler.done, (done) => done.includes(second.envelope.id), { description: 'the replayed record handled' });
    const listed = await deadLetters.list(deadLetterTopic);
    expect(listed.map((letter) => letter.id)).toEqual([first.envelope.id]);
  });

  it('purged, leaves nothing to list', async () => {
    await deadLetters.purge(deadLetterTopic);

    await expect(deadLetters.list(deadLetterTopic)).resolves.toEqual([]);
    expect(await deadLetters.listTopics()).toContainEqual({ topic: deadLetterTopic, records: 0 });
  });
});
