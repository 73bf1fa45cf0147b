import { describeTransportContract } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { sqsEndpoint, testVisibilityTimeoutSeconds } from '../test/test-sqs.js';
import { SqsTransport } from './sqs.transport.js';

describeTransportContract({
  name: 'sqs',
  kind: 'command',
  tellsDeadLetterAge: false,
  async channel(policy, name) {
    const channel = name ?? uniqueName('contract.q');
    const transport = new SqsTransport({
      endpoint: sqsEndpoint,
      retryPolicy: policy,
      visibilityTimeoutSeconds: testVisibilityTimeoutSeconds,
    });
    await transport.connect();
    return {
      transport,
      channel,
      async cleanup() {
        const admin = new SqsTransport({ endpoint: sqsEndpoint, retryPolicy: policy });
        await admin.queues.remove(channel);
        await admin.close();
      },
    };
  },
});
