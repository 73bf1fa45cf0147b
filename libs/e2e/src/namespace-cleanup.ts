import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { channelNames } from '@boxoffice/contracts';
import { defaultRetryPolicy, defaultTransports, silentLogger, type TransportChoice, type TransportName } from '@boxoffice/messaging';
import { ActiveMqTransport } from '@boxoffice/messaging-activemq';
import { createKafkaClient, withAdmin } from '@boxoffice/messaging-kafka';
import { createKinesisClient, KinesisStreams } from '@boxoffice/messaging-kinesis';
import { RabbitMqConnection, topologyQueueNames } from '@boxoffice/messaging-rabbitmq';
import { SqsTransport } from '@boxoffice/messaging-sqs';

const rabbitMqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const activeMqUrl = process.env.ACTIVEMQ_URL ?? 'amqp://boxoffice:boxoffice@127.0.0.1:61617';
const sqsEndpoint = process.env.SQS_ENDPOINT ?? 'http://127.0.0.1:9324';
const kinesisEndpoint = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';

/**
 * Deletes what the services of one namespaced system declared on the shared brokers of the
 * transports it ran on: its queues (with their retry and dead letter queues) and exchange on
 * RabbitMQ, its queues (and dead letter queues) on ActiveMQ and SQS, its topics (dead letter topics included) and idle consumer groups
 * on Kafka, its streams on Kinesis. Brokers outlive test runs, and durable queues would otherwise
 * pile up run after run.
 */
export async function deleteNamespace(namespace: string, transports: TransportChoice = defaultTransports): Promise<void> {
  if (!namespace) throw new Error('refusing to delete the un-namespaced system');
  const cleanups: Record<TransportName, (namespace: string) => Promise<void>> = {
    rabbitmq: deleteRabbitMqTopology,
    activemq: deleteActiveMqQueues,
    kafka: deleteKafkaTopicsAndGroups,
    sqs: deleteSqsQueues,
    kinesis: deleteKinesisStreams,
  };
  await Promise.all(
    [...new Set(Object.values(transports))].map((name) => {
      const cleanup = cleanups[name];
      if (!cleanup) throw new Error(`no cleanup for transport ${name}`);
      return cleanup(namespace);
    }),
  );
}

async function deleteActiveMqQueues(namespace: string): Promise<void> {
  const activemq = new ActiveMqTransport({ url: activeMqUrl, name: `cleanup-${namespace}`, retryPolicy: defaultRetryPolicy, logger: silentLogger });
  await activemq.connect();
  try {
    await activemq.remove(Object.values(channelNames(namespace).queues));
  } finally {
    await activemq.close();
  }
}

async function deleteSqsQueues(namespace: string): Promise<void> {
  // Both kinds of queue: a system may have run with SQS_QUEUE_TYPE=standard.
  for (const queueType of ['fifo', 'standard'] as const) {
    const sqs = new SqsTransport({ endpoint: sqsEndpoint, queueType, retryPolicy: defaultRetryPolicy, logger: silentLogger });
    try {
      for (const queue of Object.values(channelNames(namespace).queues)) await sqs.queues.remove(queue);
    } finally {
      await sqs.close();
    }
  }
}

async function deleteKinesisStreams(namespace: string): Promise<void> {
  const client = createKinesisClient({ endpoint: kinesisEndpoint });
  try {
    const names: string[] = [];
    for (let last: string | undefined; ; ) {
      const page = await client.send(new ListStreamsCommand({ ...(last ? { ExclusiveStartStreamName: last } : {}), Limit: 100 }));
      names.push(...(page.StreamNames ?? []));
      if (!page.HasMoreStreams || !page.StreamNames?.length) break;
      last = page.StreamNames.at(-1);
    }
    await new KinesisStreams(client).delete(names.filter((name) => name.startsWith(`${namespace}.`)));
  } finally {
    client.destroy();
  }
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
