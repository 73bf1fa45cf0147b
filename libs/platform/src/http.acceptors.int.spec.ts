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
}

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
  const connected = new Int32Array(new SharedArrayBuffer(4));
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
         if (Atomics.add(connected, 0, 1) + 1 === count) Atomics.notify(connected, 0);
       });
       socket.on('error', () => {});
       sockets.push(socket);
     }
     require('node:worker_threads').parentPort.on('message', () => sockets.forEach((s) => s.destroy()));`,
    { eval: true, workerData: { port, count, connected } },
  );
  try {
    // The handshakes complete in the kernel, without this thread: block it until all are queued.
    while (Atomics.load(connected, 0) < count) Atomics.wait(connected, 0, Atomics.load(connected, 0), 10_000);
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

function ping(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // A connection of its own each time (no agent): the kernel picks among the sockets anew.
    get({ host: '127.0.0.1', port, path: '/ping', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve());
  });
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

    const statuses = await Promise.all(Array.from({ length: 64 }, () => ping(port)));

    expect(statuses).toEqual(Array(64).fill(200));
  });

  it('leaves the port free once the application is closed: no socket keeps listening', async () => {
    const { app, port } = await listening(16);
    await app.close();
    opened.splice(opened.indexOf(app), 1);

    const after = createServer();
    await expect(listen(after, port)).resolves.toBeUndefined();
    after.close();
  });

  it('refuses a port another server holds, as a single socket would', async () => {
    const holder = createServer();
    await listen(holder, 0);
    try {
      const port = (holder.address() as AddressInfo).port;
      await expect(listening(16, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      holder.close();
    }
  });
});
