import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '@boxoffice/testing';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { get } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Worker } from 'node:worker_threads';
import { listenWithAcceptors } from './http.acceptors.js';

@Controller()
class PingController {
  @Get('ping')
  ping() {
    return { pong: true };
  }

  /** Answers once the spec lets it: a request still in flight when the application closes. */
  @Get('held')
  async held() {
    await new Promise<void>((release) => held.push(release));
    return { done: true };
  }
}

/** The requests to GET /held waiting to be let go, first come first. */
const held: Array<() => void> = [];

@Module({ controllers: [PingController] })
class PingModule {}

const opened: NestFastifyApplication[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

async function listening(acceptors: number, port = 0): Promise<{ app: NestFastifyApplication; port: number }> {
  const app = await NestFactory.create<NestFastifyApplication>(PingModule, new FastifyAdapter(), { logger: false });
  opened.push(app);
  await listenWithAcceptors(app, { port, host: '127.0.0.1', backlog: 512, acceptors, maxConnections: 1_000 });
  return { app, port: (app.getHttpServer().address() as AddressInfo).port };
}

/**
 * `count` connections opened by another thread while this one's event loop is blocked: they wait
 * in the kernel's queues. Then the loop runs, and each connection taken is counted against the
 * turn of the loop that took it. Resolves to the most taken in one turn, and the turns it took.
 */
async function takingAQueue(app: NestFastifyApplication, port: number, count: number): Promise<{ mostInOneTurn: number; turns: number }> {
  // [connected, failed]: written by the other thread, read by this one while its loop is blocked.
  const connected = new Int32Array(new SharedArrayBuffer(8));
  const turnOf: number[] = [];
  let turn = 0;
  let counting = true;
  const nextTurn = () => {
    turn += 1;
    if (counting) setImmediate(nextTurn);
  };
  app.getHttpServer().on('connection', () => turnOf.push(turn));
  const clients = new Worker(
    `const { connect } = require('node:net');
     const { workerData: { port, count, connected } } = require('node:worker_threads');
     const sockets = [];
     for (let i = 0; i < count; i++) {
       const socket = connect(port, '127.0.0.1', () => {
         Atomics.add(connected, 0, 1);
         Atomics.notify(connected, 0);
       });
       socket.on('error', () => {
         Atomics.add(connected, 1, 1);
         Atomics.notify(connected, 0);
       });
       sockets.push(socket);
     }
     require('node:worker_threads').parentPort.on('message', () => sockets.forEach((s) => s.destroy()));`,
    { eval: true, workerData: { port, count, connected } },
  );
  try {
    // The handshakes complete in the kernel, without this thread: block it until all are queued.
    const deadline = performance.now() + 10_000;
    while (Atomics.load(connected, 0) < count && Atomics.load(connected, 1) === 0 && performance.now() < deadline)
      Atomics.wait(connected, 0, Atomics.load(connected, 0), 100);
    expect({ connected: Atomics.load(connected, 0), failed: Atomics.load(connected, 1) }).toEqual({ connected: count, failed: 0 });
    setImmediate(nextTurn);
    await waitFor(
      () => Promise.resolve(turnOf.length),
      (taken) => taken >= count,
      { timeoutMs: 10_000, intervalMs: 10, description: `the ${count} connections to be taken` },
    );
  } finally {
    counting = false;
    clients.postMessage('close');
    await clients.terminate();
  }
  const perTurn = new Map<number, number>();
  for (const at of turnOf) perTurn.set(at, (perTurn.get(at) ?? 0) + 1);
  return { mostInOneTurn: Math.max(...perTurn.values()), turns: perTurn.size };
}

function request(port: number, path = '/ping'): Promise<number> {
  return new Promise((resolve, reject) => {
    // A connection of its own each time (no agent): the kernel picks among the sockets anew.
    get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    }).on('error', reject);
  });
}

function listen(server: Server, port: number, reusePort = false): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', reusePort }, () => resolve());
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('an HTTP server listening with several acceptors', () => {
  it('takes one queued connection per turn of the event loop with one socket, and several with sixteen', async () => {
    const one = await listening(1);
    const sixteen = await listening(16);

    const alone = await takingAQueue(one.app, one.port, 200);
    const shared = await takingAQueue(sixteen.app, sixteen.port, 200);

    expect(alone.mostInOneTurn).toBe(1);
    expect(alone.turns).toBe(200);
    expect(shared.mostInOneTurn).toBeGreaterThanOrEqual(8);
    expect(shared.turns).toBeLessThanOrEqual(50);
  });

  it('answers on every connection, whichever socket took it', async () => {
    const { port } = await listening(16);

    const statuses = await Promise.all(Array.from({ length: 64 }, () => request(port)));

    expect(statuses).toEqual(Array(64).fill(200));
  });

  it('closes only once the requests in flight on every connection are answered', async () => {
    const { app, port } = await listening(16);
    let answered = 0;
    const answers = Array.from({ length: 32 }, () =>
      request(port, '/held').then((status) => {
        answered += 1;
        return status;
      }),
    );
    await waitFor(
      () => Promise.resolve(held.length),
      (n) => n === 32,
      { timeoutMs: 5_000, description: 'the 32 requests to be in flight' },
    );

    let closedAt = Infinity;
    const closing = app.close().then(() => (closedAt = performance.now()));
    opened.splice(opened.indexOf(app), 1);
    await waitFor(
      () => Promise.resolve(app.getHttpServer().listening),
      (listening) => !listening,
      { timeoutMs: 5_000, description: 'the server to stop listening' },
    );
    // One at a time: were close to wait only for the connections its own socket took (about one
    // in sixteen), it would be over while some of these are still held.
    const stillClosingAsEachIsLetGo: boolean[] = [];
    for (let letGo = 1; letGo <= 32; letGo++) {
      stillClosingAsEachIsLetGo.push(closedAt === Infinity);
      held.shift()!();
      await waitFor(
        () => Promise.resolve(answered),
        (n) => n === letGo,
        { timeoutMs: 5_000, description: `answer ${letGo}` },
      );
    }
    await closing;

    await expect(Promise.all(answers)).resolves.toEqual(Array(32).fill(200));
    expect(stillClosingAsEachIsLetGo).toEqual(Array(32).fill(true));
  });

  it('leaves the port free once the application is closed: no socket keeps listening', async () => {
    const { app, port } = await listening(16);
    await app.close();
    opened.splice(opened.indexOf(app), 1);

    const after = createServer();
    await expect(listen(after, port)).resolves.toBeUndefined();
    await close(after);
  });

  it('refuses a port another server holds, as a single socket would, even one that shares ports too', async () => {
    const holder = createServer();
    await listen(holder, 0, true);
    try {
      const port = (holder.address() as AddressInfo).port;
      await expect(listening(16, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await close(holder);
    }
  });
});
