import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * What the proxy does to connections:
 * - `pass`: forwards both ways, as if it were not there;
 * - `reset`: a new connection is accepted and reset at once, as a server that is down (or a
 *   firewall that rejects) looks to a client;
 * - `blackhole`: a new connection is accepted and nothing ever comes back, as a network partition
 *   or a server that hangs looks: only the client's own timeouts end the wait. Connections already
 *   open stall too (neither side is read), and carry on where they were once the mode is `pass`
 *   again, as TCP does when a partition heals before either side gives up.
 */
export type FaultMode = 'pass' | 'reset' | 'blackhole';

/**
 * A TCP proxy in the test process, between a service and a server (PostgreSQL, a broker), that
 * can fail the way networks and servers fail, on command: a spec starts the service with the
 * proxy's address, then cuts, blackholes and restores the path while the service runs.
 */
export class TcpFaultProxy {
  private mode: FaultMode = 'pass';
  private readonly server: net.Server;
  private readonly open = new Set<Socket>();

  /**
   * @param latencyMs added to every chunk, each way; it may be changed while connections are
   *   open (a path that turns slow and then recovers), and chunks keep their order.
   */
  constructor(
    private readonly target: { readonly host: string; readonly port: number },
    public latencyMs = 0,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on a free port of 127.0.0.1, and returns it. */
  async start(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  /** From now on, new connections meet `mode`; `cut` also resets every connection already open. */
  set(mode: FaultMode, { cut = false } = {}): void {
    this.mode = mode;
    if (cut) for (const socket of this.open) socket.resetAndDestroy();
    // Stalled, not dropped: the bytes of an open connection are read again when the path comes back.
    for (const socket of this.open) {
      if (mode === 'blackhole') socket.pause();
      else socket.resume();
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private accept(client: Socket): void {
    this.track(client);
    if (this.mode === 'reset') return void client.resetAndDestroy();
    if (this.mode === 'blackhole') return void client.resume(); // read and drop, answer nothing
    const upstream = this.track(net.connect(this.target.port, this.target.host));
    client.on('data', this.forwarder(upstream));
    upstream.on('data', this.forwarder(client));
    // One side gone: the other goes too, as with a real path.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Writes each chunk to `to` after the latency of the moment it arrived, never before an earlier chunk. */
  private forwarder(to: Socket): (chunk: Buffer) => void {
    const queue: Array<{ chunk: Buffer; due: number }> = [];
    const drain = () => {
      while (queue.length > 0 && queue[0].due <= performance.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) setTimeout(drain, Math.max(0, queue[0].due - performance.now()));
    };
    return (chunk) => {
      if (this.latencyMs === 0 && queue.length === 0) return void to.write(chunk);
      queue.push({ chunk, due: performance.now() + this.latencyMs });
      if (queue.length === 1) setTimeout(drain, this.latencyMs);
    };
  }

  private track(socket: Socket): Socket {
    this.open.add(socket);
    socket.on('error', () => {}); // a reset is the point here, not a failure of the proxy
    socket.on('close', () => this.open.delete(socket));
    return socket;
  }
}
