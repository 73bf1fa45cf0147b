import { describeTransportContract } from '@boxoffice/messaging-contract';
import { connect, deleteTopology, rabbitMqUrl, uniqueName } from '../test/test-broker.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

describeTransportContract({
  name: 'rabbitmq',
  kind: 'command',
  tellsDeadLetterAge: false,
  async channel(policy, name) {
    const queue = name ?? uniqueName('contract.q');
    const exchange = `${queue}.x`;
    const transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'contract-spec',
      exchange,
      retryPolicy: policy,
      reconnectInitialDelayMs: 50,
    });
    await transport.connect();
    return {
      transport,
      channel: queue,
      async cleanup() {
        const admin = await connect('contract-cleanup');
        await deleteTopology(admin, { queue, exchange }, policy);
        await admin.close();
      },
    };
  },
});
