import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@boxoffice/messaging';
import { TcpFaultProxy } from '@boxoffice/testing';
import { createKafkaClient } from './kafka.client.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { brokers, operatorAccount, testEvent } from './testing/kafka.fixtures.js';

describe('publishing to Kafka', () => {
  describe('when the broker stops answering', () => {
    const [host, port] = brokers[0].split(':');
    const silence = new TcpFaultProxy({ host, port: Number(port) });
    let publisher: KafkaPublisher;

    beforeAll(async () => {
      // Every connection is accepted and never answered, as a partition or a hung broker looks.
      silence.set('blackhole');
      const address = `127.0.0.1:${await silence.start()}`;
      publisher = new KafkaPublisher(
        createKafkaClient({ brokers: [address], clientId: 'publisher-deadline-spec', account: operatorAccount, logger: silentLogger }),
      );
    });
    afterAll(async () => {
      await publisher.disconnect().catch(() => {});
      await silence.stop();
    });

    it('gives up the send, and its producer, once the caller stops waiting', async () => {
      const started = Date.now();
      await expect(publisher.publish([testEvent('deadline-spec', 'k')], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });
});
