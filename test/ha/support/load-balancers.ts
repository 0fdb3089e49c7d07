/**
 * The entry points clients use, both Debian haproxy in TCP mode bound to 127.0.0.1 (the stand-ins
 * for a Kubernetes Service in front of the RabbitMQ pods and CloudNativePG's `-rw` Service):
 *  - AMQP: round robin over the three nodes; a node is up while it answers the AMQP handshake, so a
 *    paused (frozen) node is taken out too, and its client sessions are closed so they reconnect.
 *  - PostgreSQL: only the writable primary is up. haproxy's agent-check asks `primaryAgent` (in this
 *    process) per server, which answers "up" only for a server that is not in recovery.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../../support/infra';

export interface Haproxy {
  /** Server name → haproxy's operational state (2 = up, 0 = down), from the stats socket. */
  states(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface Backend {
  name: string;
  port: number;
  /** For PostgreSQL: the agent port answering for this server. */
  agentPort?: number;
}

export function amqpConfig(frontendPort: number, backends: Backend[]): string {
  return [
    'frontend amqp',
    `  bind 127.0.0.1:${frontendPort}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    '  option tcp-check',
    '  tcp-check connect',
    '  tcp-check send-binary 414d515000000901', // "AMQP" 0 0 9 1
    '  tcp-check expect binary 000a000a', // connection.start (class 10, method 10)
    '  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions',
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
  ].join('\n');
}

export function postgresConfig(frontendPort: number, backends: Backend[]): string {
  return [
    'frontend pg',
    `  bind 127.0.0.1:${frontendPort}`,
    '  default_backend primary',
    'backend primary',
    '  option tcp-check',
    '  default-server inter 1s fall 2 rise 1 agent-inter 500ms on-marked-down shutdown-sessions',
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check agent-check agent-port ${b.agentPort}`),
  ].join('\n');
}

export async function startHaproxy(dir: string, name: string, body: string, frontendPort: number): Promise<Haproxy> {
  const sock = path.join(dir, `${name}.sock`);
  const cfg = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 4096',
      `  stats socket ${sock} mode 600 level admin`,
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 3h',
      '  timeout server 3h',
      '  timeout check 2s',
      body,
      '',
    ].join('\n'),
  );
  // -db: stay in the foreground, so the child is this process's to stop (by its pid).
  const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await waitFor(`haproxy ${name} listening on ${frontendPort}`, async () => {
    if (child.exitCode !== null) throw new Error(`haproxy ${name} exited: ${stderr}`);
    return canConnect(frontendPort);
  }, 10_000, 100);
  return {
    async states() {
      const out = await statsCommand(sock, 'show servers state');
      const res: Record<string, number> = {};
      // columns: be_id be_name srv_id srv_name srv_addr srv_op_state …
      for (const line of out.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length > 5 && /^\d+$/.test(f[0]!)) res[f[3]!] = Number(f[5]);
      }
      return res;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function statsCommand(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end(`${cmd}\n`);
  });
}

export interface PrimaryAgent {
  /** Moments two servers answered "up" in the same round (must stay 0: never two primaries). */
  twoPrimariesSeen(): number;
  stop(): Promise<void>;
}

/**
 * haproxy agent-check endpoints, one per server: "up" when the server is the writable primary,
 * "down" otherwise (standby, not answering). Also watches for two writable servers at once.
 */
export async function startPrimaryAgent(servers: { agentPort: number; isPrimary: () => Promise<boolean | null> }[]): Promise<PrimaryAgent> {
  const listeners: net.Server[] = [];
  for (const s of servers) {
    const srv = net.createServer((conn) => {
      conn.on('error', () => undefined);
      void s.isPrimary().then((p) => conn.end(p === true ? 'up\n' : 'down\n'));
    });
    await new Promise<void>((r) => srv.listen(s.agentPort, '127.0.0.1', r));
    listeners.push(srv);
  }
  let twoPrimaries = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const roles = await Promise.all(servers.map((s) => s.isPrimary()));
      if (roles.filter((r) => r === true).length > 1) twoPrimaries += 1;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    twoPrimariesSeen: () => twoPrimaries,
    async stop() {
      watching = false;
      await watch;
      await Promise.all(listeners.map((l) => new Promise((r) => l.close(r))));
    },
  };
}
