import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { TcpFaultProxy } from './tcp-fault.proxy.js';
import { waitFor } from './wait-for.js';

describe('TcpFaultProxy, on a connection already open', () => {
  let echo: net.Server;
  let arrived: string;
  let proxy: TcpFaultProxy;
  let client: Socket;
  let answered: string;

  beforeEach(async () => {
    arrived = '';
    answered = '';
    echo = net.createServer((socket) =>
      socket.on('data', (chunk) => {
        arrived += chunk.toString();
        socket.write(chunk);
      }),
    );
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = new TcpFaultProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    client = net.connect(await proxy.start(), '127.0.0.1');
    client.on('data', (chunk) => (answered += chunk.toString()));
    await once(client, 'connect');
  });
  afterEach(async () => {
    client.destroy();
    await proxy.stop();
    echo.close();
  });

  it('keeps the bytes in order when its latency drops mid-stream', async () => {
    proxy.latencyMs = 200;
    client.write('a');
    proxy.latencyMs = 0;
    client.write('b');
    await waitFor(
      () => answered,
      (text) => text.length === 2,
      { description: 'both bytes echoed' },
    );
    expect(answered).toBe('ab');
  });

  it('stalls it in a blackhole, and carries it on, nothing lost, once the path is back', async () => {
    client.write('before;');
    await waitFor(
      () => answered,
      (text) => text === 'before;',
      { description: 'the first echo' },
    );
    proxy.set('blackhole');
    client.write('during;');
    // Nothing can be awaited for bytes that must not arrive: a while longer than a local round trip.
    await delay(300);
    expect(arrived).toBe('before;');
    proxy.set('pass');
    await waitFor(
      () => answered,
      (text) => text === 'before;during;',
      { description: 'the stalled bytes echoed' },
    );
  });
});
