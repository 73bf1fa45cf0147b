import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TcpFaultProxy } from '@boxoffice/testing';
import { operatorKafkaAccount } from '@boxoffice/config';
import { Kafka, logLevel } from 'kafkajs';
import { infraAddresses } from '../infra/addresses.ts';
import { encodeRequest, KafkaWireConnection } from '../infra/kafka-wire.ts';
import { KafkaAdvertisingRelay } from './chaos.kafka-relay.ts';

// A Kafka client bootstraps at the proxy, then goes where the broker's Metadata answer says: the
// relay must make that the proxy too, or a fault on the proxy would touch nothing but the bootstrap.
const FIND_COORDINATOR = 10;

describe('a Kafka client behind the fault proxy and the relay', () => {
  const relay = new KafkaAdvertisingRelay(infraAddresses().kafka);
  const operator = operatorKafkaAccount();
  let proxy: TcpFaultProxy;
  let admin: ReturnType<Kafka['admin']>;

  beforeAll(async () => {
    proxy = new TcpFaultProxy({ host: '127.0.0.1', port: await relay.start() });
    relay.advertisedPort = await proxy.start();
    admin = new Kafka({
      brokers: [`127.0.0.1:${relay.advertisedPort}`],
      clientId: 'chaos-relay-spec',
      logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'scram-sha-256', username: operator.user, password: operator.password },
    }).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await proxy.stop();
    await relay.stop();
  });

  it('is told to come back through the proxy', async () => {
    const { brokers } = await admin.describeCluster();
    expect(brokers.map((broker) => broker.port)).toEqual([relay.advertisedPort]);
  });

  it('is told to find the group coordinator through the proxy too', async () => {
    // FindCoordinator v1 for a group (kafkajs does not dial the address it names, other clients may).
    const group = Buffer.from('chaos-relay-spec');
    const body = Buffer.alloc(2 + group.length + 1);
    body.writeInt16BE(group.length, 0);
    group.copy(body, 2);
    const connection = await KafkaWireConnection.open('127.0.0.1', relay.advertisedPort);
    let answer: Buffer;
    try {
      await connection.signIn(operator.user, operator.password);
      ({ bytes: answer } = await connection.request((id) => encodeRequest(FIND_COORDINATOR, 1, id, body)));
    } finally {
      connection.close();
    }
    // size, correlation_id, throttle_time_ms, error_code, error_message (null: -1), node_id, host, port
    let at = 4 + 4 + 4 + 2;
    at += 2 + Math.max(0, answer.readInt16BE(at)) + 4;
    at += 2 + answer.readInt16BE(at);
    expect(answer.readInt32BE(at)).toBe(relay.advertisedPort);
  });
});
