import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { brokerAddress, kafkaAccountOf } from '@boxoffice/config';
import { queues, topics } from '@boxoffice/contracts';
import { defaultRetryPolicy, Routing, silentLogger } from '@boxoffice/messaging';
import { createKafkaClient, deadLetterTopicOf, KafkaTopics, withAdmin } from '@boxoffice/messaging-kafka';
import { declareQueueTopology, RabbitMqConnection, topologyQueueNames } from '@boxoffice/messaging-rabbitmq';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { deleteNamespace } from './namespace-cleanup.js';

const rabbitMqUrl = brokerAddress('RABBITMQ_URL');
const kafka = createKafkaClient({
  brokers: brokerAddress('KAFKA_BROKERS').split(','),
  clientId: 'cleanup-spec',
  account: kafkaAccountOf('cleanup-spec'),
  logger: silentLogger,
});

describe('deleting a namespaced system from the brokers', () => {
  const namespace = uniqueName('cleanup');
  const other = uniqueName('cleanup-other');
  let connection: RabbitMqConnection;

  /** A system's names on the brokers, as its services' Routing gives them. */
  function namesOf(ns: string) {
    const routing = new Routing({ namespace: ns });
    return {
      chargeQueue: routing.nameOf(queues.chargeOrder),
      commandExchange: routing.commandExchange,
      usersTopic: routing.nameOf(topics.users),
      analyticsGroup: routing.consumerGroupOf('analytics'),
    };
  }

  /** Declares on the brokers what a system's services would: queues, exchange, topics, a group. */
  async function declareSystem(ns: string) {
    const { chargeQueue, commandExchange, usersTopic, analyticsGroup } = namesOf(ns);
    const channel = await connection.createChannel();
    await declareQueueTopology(channel, chargeQueue, commandExchange, defaultRetryPolicy);
    await channel.close();
    await new KafkaTopics(kafka).ensure([
      { topic: usersTopic, partitions: 1 },
      { topic: deadLetterTopicOf(usersTopic, analyticsGroup), partitions: 1 },
    ]);
    await withAdmin(kafka, (admin) =>
      admin.setOffsets({ groupId: analyticsGroup, topic: usersTopic, partitions: [{ partition: 0, offset: '0' }] }),
    );
  }

  async function queueExists(queue: string): Promise<boolean> {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // a 404 closes the channel with an error event
    return channel.checkQueue(queue).then(
      async () => (await channel.close(), true),
      () => false,
    );
  }

  const exchangeExists = async (exchange: string) => {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    return channel.checkExchange(exchange).then(
      async () => (await channel.close(), true),
      () => false,
    );
  };

  const kafkaNames = async (ns: string) =>
    withAdmin(kafka, async (admin) => ({
      topics: (await admin.listTopics()).filter((topic) => topic.startsWith(`${ns}.`)),
      groups: (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(`${ns}.`)),
    }));

  beforeAll(async () => {
    connection = new RabbitMqConnection({ url: rabbitMqUrl, name: 'cleanup-spec', logger: silentLogger });
    await connection.connect();
    await declareSystem(namespace);
    await declareSystem(other);
  });
  afterAll(async () => {
    await deleteNamespace(other);
    await connection.close();
  });

  it('removes its queues, exchange, topics and consumer groups', async () => {
    const chargeQueues = topologyQueueNames(namesOf(namespace).chargeQueue, defaultRetryPolicy);
    expect(await Promise.all(chargeQueues.map(queueExists))).toEqual(chargeQueues.map(() => true));
    await expect(kafkaNames(namespace)).resolves.toMatchObject({
      topics: expect.arrayContaining([expect.any(String)]),
      groups: [expect.any(String)],
    });

    await deleteNamespace(namespace);

    expect(await Promise.all(chargeQueues.map(queueExists))).toEqual(chargeQueues.map(() => false));
    await expect(exchangeExists(namesOf(namespace).commandExchange)).resolves.toBe(false);
    // Kafka deletes topics in the background: wait until the metadata no longer lists them.
    const left = await waitFor(
      () => kafkaNames(namespace),
      (names) => names.topics.length === 0,
      { description: 'the topics to be deleted' },
    );
    expect(left).toEqual({ topics: [], groups: [] });
  });

  it('leaves another namespace alone', async () => {
    const names = namesOf(other);
    await expect(queueExists(names.chargeQueue)).resolves.toBe(true);
    await expect(exchangeExists(names.commandExchange)).resolves.toBe(true);
    await expect(kafkaNames(other)).resolves.toEqual({
      topics: expect.arrayContaining([names.usersTopic]),
      groups: [names.analyticsGroup],
    });
  });

  it('refuses the empty namespace, which is the real system', async () => {
    await expect(deleteNamespace('')).rejects.toThrow('refusing to delete the un-namespaced system');
  });
});
