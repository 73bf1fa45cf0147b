import { describeTransportContract } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { withAdmin } from './kafka.client.js';
import { KafkaTopics } from './kafka.topics.js';
import { KafkaTransport } from './kafka.transport.js';
import { brokers, operatorAccount, fastGroup } from './testing/kafka.fixtures.js';

describeTransportContract({
  name: 'kafka',
  kind: 'event',
  tellsDeadLetterAge: true,
  async channel(_policy, name) {
    const topic = name ?? uniqueName('contract_topic');
    const transport = new KafkaTransport({
      brokers,
      account: operatorAccount,
      clientId: 'contract-spec',
      partitions: 3,
      consumer: fastGroup,
    });
    await transport.connect();
    return {
      transport,
      channel: topic,
      async cleanup() {
        // The topic and every group's dead-letter topic of it.
        const topics = new KafkaTopics(transport.kafka);
        const all = await withAdmin(transport.kafka, (admin) => admin.listTopics());
        await topics.delete([topic, ...all.filter((t) => t.startsWith(`${topic}.`))]).catch(() => undefined);
      },
    };
  },
});
