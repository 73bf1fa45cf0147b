import { channelNames } from '@boxoffice/contracts';
import { defaultRetryPolicy, silentLogger } from '@boxoffice/messaging';
import { createKafkaClient, withAdmin } from '@boxoffice/messaging-kafka';
import { RabbitMqConnection, topologyQueueNames } from '@boxoffice/messaging-rabbitmq';

const rabbitMqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/**
 * Deletes what the services of one namespaced system declared on the shared brokers: its
 * queues (with their retry and dead letter queues) and exchange on RabbitMQ, its topics (dead
 * letter topics included) and idle consumer groups on Kafka. Brokers outlive test runs, and durable
 * queues would otherwise pile up run after run.
 */
export async function deleteNamespace(namespace: string): Promise<void> {
  if (!namespace) throw new Error('refusing to delete the un-namespaced system');
  await Promise.all([deleteRabbitMqTopology(namespace), deleteKafkaTopicsAndGroups(namespace)]);
}

async function deleteRabbitMqTopology(namespace: string): Promise<void> {
  const { queues, exchanges } = channelNames(namespace);
  const connection = new RabbitMqConnection({ url: rabbitMqUrl, name: `cleanup ${namespace}`, logger: silentLogger });
  await connection.connect();
  try {
    const channel = await connection.createChannel();
    // Services use the default retry policy, so these are exactly the queues they declared.
    // Deleting a queue that was never declared is a no-op on RabbitMQ.
    for (const queue of Object.values(queues).flatMap((queue) => topologyQueueNames(queue, defaultRetryPolicy))) {
      await channel.deleteQueue(queue);
    }
    for (const exchange of Object.values(exchanges)) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

async function deleteKafkaTopicsAndGroups(namespace: string): Promise<void> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers, clientId: `cleanup-${namespace}`, logger: silentLogger });
  await withAdmin(kafka, async (admin) => {
    const ours = (name: string) => name.startsWith(`${namespace}.`);
    const topics = (await admin.listTopics()).filter(ours);
    if (topics.length > 0) await admin.deleteTopics({ topics });
    // Only an empty group may be deleted. A killed service's group keeps its members until their
    // sessions time out; with its topics gone it holds no offsets, and Kafka removes it then.
    const groupIds = (await admin.listGroups()).groups.map((group) => group.groupId).filter(ours);
    if (groupIds.length === 0) return;
    const { groups } = await admin.describeGroups(groupIds);
    const empty = groups.filter((group) => group.state === 'Empty').map((group) => group.groupId);
    if (empty.length > 0) await admin.deleteGroups(empty);
  });
}
