// A TCP relay in front of a Kafka broker that makes its clients come back through a port of our
// choosing, so that a TcpFaultProxy can stand between the services and Kafka.
//
// A Kafka client only bootstraps at the address it is given: the broker's Metadata answer names
// the address to use from then on (advertised.listeners), and FindCoordinator names the group
// coordinator's. A plain TCP proxy would see the first Metadata request and nothing after it. This
// relay forwards every byte unchanged except those two answers, in which it replaces the broker's
// port with `advertisedPort` (the fault proxy's, on the same host: the host is left alone, so the
// proxy must listen where the broker is advertised, 127.0.0.1 here).
//
// Only the versions without tagged fields are read: Metadata v0-v8 and FindCoordinator v0-v2,
// which include every version kafkajs 2 sends. An answer in a later version passes unchanged.
// Protocol: https://kafka.apache.org/protocol.html
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { HostPort } from '../infra/addresses.ts';

const METADATA = 3;
const FIND_COORDINATOR = 10;

export class KafkaAdvertisingRelay {
  /** The port clients are told to come back to. */
  advertisedPort = 0;
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly open = new Set<Socket>();

  constructor(private readonly broker: HostPort) {}

  /** Listens on a free port of 127.0.0.1, and returns it. */
  async start(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private accept(client: Socket): void {
    const upstream = net.connect(this.broker.port, this.broker.host);
    for (const socket of [client, upstream]) {
      this.open.add(socket);
      socket.on('error', () => {}); // the fault proxy in front resets connections on purpose
      socket.on('close', () => this.open.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // A request header: size, api_key, api_version, correlation_id. Answers carry only the correlation_id.
    const asked = new Map<number, { apiKey: number; version: number }>();
    client.on(
      'data',
      frames((request) => {
        const apiKey = request.readInt16BE(4);
        if (apiKey === METADATA || apiKey === FIND_COORDINATOR)
          asked.set(request.readInt32BE(8), { apiKey, version: request.readInt16BE(6) });
        upstream.write(request);
      }),
    );
    upstream.on(
      'data',
      frames((answer) => {
        const request = asked.get(answer.readInt32BE(4));
        if (request) {
          asked.delete(answer.readInt32BE(4));
          this.readvertise(answer, request.apiKey, request.version);
        }
        client.write(answer);
      }),
    );
  }

  /** Rewrites, in place, the port of every broker address in a Metadata or FindCoordinator answer. */
  private readvertise(answer: Buffer, apiKey: number, version: number): void {
    let at = 8; // after the size and the correlation_id
    const skipString = () => {
      const length = answer.readInt16BE(at);
      at += 2 + Math.max(0, length);
    };
    const port = () => {
      if (answer.readInt32BE(at) === this.broker.port) answer.writeInt32BE(this.advertisedPort, at);
      at += 4;
    };
    if (apiKey === METADATA && version <= 8) {
      if (version >= 3) at += 4; // throttle_time_ms
      const brokers = answer.readInt32BE(at);
      at += 4;
      for (let broker = 0; broker < brokers; broker++) {
        at += 4; // node_id
        skipString(); // host
        port();
        if (version >= 1) skipString(); // rack
      }
    } else if (apiKey === FIND_COORDINATOR && version <= 2) {
      if (version >= 1) at += 4; // throttle_time_ms
      at += 2; // error_code
      if (version >= 1) skipString(); // error_message
      at += 4; // node_id
      skipString(); // host
      port();
    }
  }
}

/** Cuts a byte stream into Kafka's size-prefixed frames, whole, in order. */
function frames(each: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = 4 + pending.readInt32BE(0);
      each(Buffer.from(pending.subarray(0, size)));
      pending = pending.subarray(size);
    }
  };
}
