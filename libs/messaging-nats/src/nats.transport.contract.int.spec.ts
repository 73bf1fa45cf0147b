import { describe } from '@jest/globals';
import { describeTransportContract } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { natsUrl } from '../test/test-nats.js';
import { NatsTransport } from './nats.transport.js';

// Commands on work-queue streams, events on limits streams: one suite, run for each kind.
for (const kind of ['command', 'event'] as const) {
  describe(`${kind}s`, () => {
    describeTransportContract({
      name: 'nats',
      kind,
      tellsDeadLetterAge: true,
      async channel(policy, name) {
        const channel = name ?? uniqueName(`contract.${kind}`);
        // A short ack wait, so what a "crashed" consumer held comes back quickly.
        const transport = new NatsTransport({
          servers: natsUrl,
          name: 'contract-spec',
          kindOf: () => kind,
          retryPolicy: policy,
          ackWaitMs: 3_000,
        });
        await transport.connect();
        return {
          transport,
          channel,
          // The streams and their durables, through a transport of its own: the test's may be closed by then.
          async cleanup() {
            const admin = new NatsTransport({ servers: natsUrl, name: 'contract-spec-cleanup', kindOf: () => kind, retryPolicy: policy });
            await admin.connect();
            await admin.deprovision([channel]);
            await admin.close();
          },
        };
      },
    });
  });
}
