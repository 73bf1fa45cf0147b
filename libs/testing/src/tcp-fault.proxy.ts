import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * What the proxy does to connections:
 * - `pass`: forwards both ways, as if it were not there;
 * - `reset`: a new connection is accepted and reset at once, as a server that is down (or a
 *   firewall that rejects) looks to a client;
 * - `blackhole`: a new connection is accepted and nothing ever comes back, as a network partition
 *   or a server that hangs looks: only the client's own timeouts end the wait.
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

  constructor(
    private readonly target: { readonly host: string; readonly port: number },
    private readonly latencyMs = 0,
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
    const delayed = (to: Socket) => (chunk: Buffer) =>
      this.latencyMs > 0 ? setTimeout(() => to.destroyed || to.write(chunk), this.latencyMs) : to.write(chunk);
    client.on('data', delayed(upstream));
    upstream.on('data', delayed(client));
    // One side gone: the other goes too, as with a real path.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  private track(socket: Socket): Socket {
    this.open.add(socket);
    socket.on('error', () => {}); // a reset is the point here, not a failure of the proxy
    socket.on('close', () => this.open.delete(socket));
    return socket;
  }
}
