import { describeTransportContract } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { activeMqUrl } from '../test/test-broker.js';
import { ActiveMqTransport } from './activemq.transport.js';

describeTransportContract({
  name: 'activemq',
  kind: 'command',
  tellsDeadLetterAge: true,
  async channel(policy, name) {
    const queue = name ?? uniqueName('contract.q');
    const transport = new ActiveMqTransport({ url: activeMqUrl, name: 'contract-spec', retryPolicy: policy, reconnectInitialDelayMs: 50 });
    await transport.connect();
    return {
      transport,
      channel: queue,
      // The queue, its dlq and its address settings.
      cleanup: () => transport.deprovision([queue]),
    };
  },
});
