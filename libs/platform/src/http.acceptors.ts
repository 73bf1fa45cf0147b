import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyListenOptions } from 'fastify';
import type { Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';

export interface AcceptorOptions {
  readonly port: number;
  readonly host: string;
  /** The kernel's queue of connections not yet accepted, for each listening socket. */
  readonly backlog: number;
  /** Listening sockets on the port (SO_REUSEPORT), where the platform has it (Linux); one elsewhere. */
  readonly acceptors: number;
  /** Open connections at most, over all the sockets: each takes its share. */
  readonly maxConnections: number;
}

/**
 * Listens with several sockets on one port, so that a busy process still takes new connections.
 *
 * libuv, under Node's event loop, accepts one connection per listening socket per turn of the loop
 * (libuv#3696: a second accept() nearly always finds none). An idle loop turns at once; a busy one
 * turns a few times a second, each turn reading every socket with a request waiting, hundreds of
 * them. A crowd that brings new connections (k6 opens one for each new VU, each browser its own)
 * then queues in the kernel: in `bench:waiting-room`, Checkout served 2,000 requests a second on
 * the connections it had and accepted about a hundred new ones a second; its queue stayed full
 * (4,096) for forty seconds, the kernel dropped the connections beyond it, and their requests
 * waited up to forty seconds for the client to try again.
 *
 * With SO_REUSEPORT each socket has a queue of its own, the kernel spreads new connections over
 * them, and each accepts one per turn: `acceptors` per turn. Every connection goes to the one HTTP
 * server, as if it had accepted it. A port another process holds is still an error: it is tried
 * first without SO_REUSEPORT, which would otherwise let two services share a port unawares.
 */
export async function listenWithAcceptors(app: NestFastifyApplication, options: AcceptorOptions): Promise<void> {
  const { port, host, backlog } = options;
  const acceptors = process.platform === 'linux' ? Math.max(1, options.acceptors) : 1;
  const server: Server = app.getHttpServer();
  const share = Math.ceil(options.maxConnections / acceptors);
  server.maxConnections = share;
  if (acceptors === 1) {
    await app.listen({ port, host, backlog });
    return;
  }

  if (port !== 0) await close(await listen(createServer(), { port, host }));
  const others: NetServer[] = [];
  // Added before listening (Fastify takes no hooks after): the others stop listening when the
  // application closes, with the HTTP server. Not awaited: a server's close waits for the
  // connections it accepted, which the HTTP server closes after this.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('preClose', (done) => {
      for (const other of others) other.close();
      done();
    });
  // Fastify hands its listen options to Node's server.listen as they are; its types omit reusePort.
  await app.listen({ port, host, backlog, reusePort: true } as FastifyListenOptions);
  const bound = (server.address() as AddressInfo).port;
  for (let i = 1; i < acceptors; i++) {
    const other = createServer((socket) => server.emit('connection', socket));
    other.maxConnections = share;
    try {
      others.push(await listen(other, { port: bound, host, backlog, reusePort: true }));
    } catch (error) {
      // A Node without reusePort (before 22.12) binds the first socket without it, and the second
      // finds the port taken: one socket, as before, and every connection is its share.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || others.length > 0) throw error;
      server.maxConnections = options.maxConnections;
      return;
    }
  }
}

function listen(server: NetServer, options: { port: number; host: string; backlog?: number; reusePort?: boolean }): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function close(server: NetServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
