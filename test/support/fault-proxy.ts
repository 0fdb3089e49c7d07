/**
 * A TCP fault proxy for tests (Toxiproxy and tc netem are not available here). Sits in front of
 * PostgreSQL or RabbitMQ on a loopback port and can cut every connection, blackhole traffic
 * (connections stay open, bytes go nowhere), refuse new connections, or add latency.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'refuse';

export interface FaultProxy {
  port: number;
  /** Destroys every open connection (both sides); new ones are accepted per the mode. */
  cut(): void;
  setMode(mode: ProxyMode): void;
  setLatency(ms: number): void;
  connections(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(targetHost: string, targetPort: number): Promise<FaultProxy> {
  let mode: ProxyMode = 'pass';
  let latencyMs = 0;
  const pairs = new Set<[net.Socket, net.Socket]>();

  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') return;
      if (latencyMs > 0) setTimeout(() => to.writable && to.write(chunk), latencyMs);
      else if (to.writable) to.write(chunk);
    });
  };

  const server = net.createServer((client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const cut = () => {
    for (const [a, b] of pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    pairs.clear();
  };

  return {
    port,
    cut,
    setMode(m) {
      mode = m;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    connections: () => pairs.size,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rewrites a URL to go through a proxy on 127.0.0.1:port. */
export function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}
