import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that can play a stalled or vanished database without touching
 * the shared cluster:
 * - `stall()`: every open connection and every new one turns into a black hole (accepted, bytes
 *   swallowed, nothing ever answered, never closed), as a hung server or a silently dropped route
 *   looks to the client. Connections stalled once stay black holes for good after `restore()`.
 * - `cut()`: every connection is reset and new ones are refused (a crashed server).
 * - `restore()`: new connections reach the database again.
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private mode: 'pass' | 'stall' | 'cut' = 'pass';
  private readonly piped = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private readonly holes = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** The database URL through this proxy. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  stall(): void {
    this.mode = 'stall';
    for (const pair of this.piped) {
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.upstream.destroy();
      this.blackHole(pair.client);
    }
    this.piped.clear();
  }

  cut(): void {
    this.mode = 'cut';
    for (const pair of this.piped) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
    this.piped.clear();
  }

  restore(): void {
    this.mode = 'pass';
  }

  async stop(): Promise<void> {
    for (const pair of this.piped) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    for (const hole of this.holes) hole.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private blackHole(socket: net.Socket): void {
    this.holes.add(socket);
    socket.removeAllListeners('data');
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => this.holes.delete(socket));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'stall') {
      this.blackHole(client);
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.piped.add(pair);
    upstream.on('error', () => client.destroy());
    const close = () => {
      this.piped.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', () => {
      if (this.piped.has(pair)) close();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
