import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay in front of one upstream port, to cut one client off the network on demand: `pause()`
 * destroys every relayed connection and refuses new ones (accepted and closed at once, like a dead link); `resume()`
 * relays again. The client under test only knows the proxy's URL.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private pausedValue = false;
  /** Connections accepted and relayed, and connections refused while paused. */
  readonly stats = { relayed: 0, refused: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly upstreamPort: number,
  ) {}

  static async start(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');
    const proxy = new TcpProxy(server, address.port, upstreamPort);
    server.on('connection', (downstream) => proxy.relay(downstream, upstreamHost));
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get paused(): boolean {
    return this.pausedValue;
  }

  /** Cuts every relayed connection and refuses new ones until `resume()`. */
  pause(): void {
    this.pausedValue = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  resume(): void {
    this.pausedValue = false;
  }

  async stop(): Promise<void> {
    this.pause();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(downstream: Socket, upstreamHost: string): void {
    if (this.pausedValue) {
      this.stats.refused++;
      downstream.destroy();
      return;
    }
    this.stats.relayed++;
    const upstream = tcpConnect(this.upstreamPort, upstreamHost);
    const pair = [downstream, upstream];
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      // Either side gone (a pause, the server restarting, the client closing): the other goes too.
      const teardown = (): void => {
        for (const s of pair) {
          this.sockets.delete(s);
          s.destroy();
        }
      };
      socket.once('close', teardown);
      socket.once('error', teardown);
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }
}
