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
  /** Open connections at most, shared out evenly between the sockets. */
  readonly maxConnections: number;
}

/**
 * Listens with several sockets on one port, so that a busy process still takes new connections.
 *
 * Node's event loop (libuv) accepts one connection per listening socket per turn of the loop. An
 * idle loop turns at once; a busy one turns a few times a second, each turn reading every socket
 * with a request waiting. A crowd that brings new connections (k6 opens one for each new VU, each
 * browser its own) then waits in the kernel's queue, which drops the connections beyond it, and
 * their requests wait for the client's TCP to try again, for seconds.
 *
 * With SO_REUSEPORT each socket has a queue of its own, the kernel spreads new connections over
 * them, and each accepts one per turn: `acceptors` per turn. Every connection goes to the one HTTP
 * server, as if it had accepted it, with the same socket options. What stays as with one socket:
 * - a port another process holds is an error: it is tried first without SO_REUSEPORT, which would
 *   otherwise let two services share a port unawares (only the moment between the try and the
 *   listening is open to that);
 * - closing waits for the requests in flight on every connection, whichever socket took it.
 * The connection limit is each socket's share: the kernel spreads evenly enough that the sum is
 * reached within a few percent before any one socket refuses.
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

  const others: NetServer[] = [];
  let othersClosed: Promise<void[]> = Promise.resolve([]);
  // Hooks go in before Fastify is ready. The others stop listening with the HTTP server (preClose);
  // Fastify's close then waits for the HTTP server's own connections, and onClose for theirs.
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('preClose', (done) => {
    othersClosed = Promise.all(others.map((other) => new Promise<void>((resolve) => other.close(() => resolve()))));
    done();
  });
  fastify.addHook('onClose', async () => {
    await othersClosed;
  });
  await app.init();
  await fastify.ready();

  if (port !== 0) await close(await listen(createServer(), { port, host }));
  // Fastify hands its listen options to Node's server.listen as they are; its types omit reusePort.
  await app.listen({ port, host, backlog, reusePort: true } as FastifyListenOptions);
  const bound = (server.address() as AddressInfo).port;
  const { allowHalfOpen, noDelay, keepAlive, keepAliveInitialDelay, highWaterMark } = server as Server & SocketDefaults;
  for (let i = 1; i < acceptors; i++) {
    const other = createServer({ allowHalfOpen, noDelay, keepAlive, keepAliveInitialDelay, highWaterMark }, (socket) =>
      server.emit('connection', socket),
    );
    other.maxConnections = share;
    others.push(await listen(other, { port: bound, host, backlog, reusePort: true }));
  }
}

/** The options every socket a net.Server accepts is created with (public fields of net.Server, untyped). */
interface SocketDefaults {
  readonly allowHalfOpen: boolean;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelay: number;
  readonly highWaterMark: number;
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
