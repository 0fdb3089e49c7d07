/**
 * A LISTEN session on one PostgreSQL channel that stays up: it reconnects with capped backoff and
 * replaces a half-open connection (a ping that gets no answer). The worker listens for
 * cancellations (worker/recovery/cancel-listener), the API for tasks that became terminal
 * (requests waiting for a result). Notifications sent while it was reconnecting are lost, so
 * every user has a fallback, and `onListening` tells it when to catch up.
 */
import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger';

export interface PgListener {
  start(): void;
  stop(): Promise<void>;
}

/** The part of pg's Client the listener uses (so its connection handling can be tested with a fake). */
export interface ListenClient {
  connect(): Promise<unknown>;
  query(sql: string): Promise<unknown>;
  end(): Promise<unknown>;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'notification', fn: (n: { channel: string; payload?: string }) => void): unknown;
}

export interface PgListenerOptions {
  connect: () => ListenClient;
  channel: string;
  onNotification: (payload: string) => void;
  /** After each successful LISTEN (the first and every reconnect): notifications may have been missed before it. */
  onListening?: () => void;
  logger: Logger;
  /** Module name in log lines. */
  name: string;
  /** How often the connection is checked with a query. */
  pingMs?: number;
  pingTimeoutMs?: number;
  /** First reconnect delay (doubles up to 5 s). */
  retryBaseMs?: number;
}

/** A dedicated connection to the database (LISTEN needs one session for as long as it listens). */
export function listenClient(databaseUrl: string, applicationName: string): ListenClient {
  return new Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: 5_000,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
}

export function createPgListener(o: PgListenerOptions): PgListener {
  const log = o.logger.child({ module: o.name });
  const retryBaseMs = o.retryBaseMs ?? 200;
  let client: ListenClient | null = null;
  let stopped = false;
  let loop: Promise<void> | null = null;

  const pingMs = o.pingMs ?? 30_000;
  const pingTimeoutMs = o.pingTimeoutMs ?? 5_000;

  /**
   * One session: connect, LISTEN, then ping until the connection fails. Whatever ends it — a failed
   * LISTEN, an error, a ping that gets no answer (a half-open connection after a failover, which
   * TCP alone may not notice for minutes) — the client is ended, never leaked.
   */
  async function connectOnce(): Promise<void> {
    const c = o.connect();
    let ping: NodeJS.Timeout | null = null;
    const ended = new Promise<void>((resolve) => {
      c.on('error', (err) => {
        log.warn({ err: err.message }, 'listener connection error; reconnecting');
        resolve();
      });
      c.on('end', () => resolve());
      ping = setInterval(() => {
        const answered = c.query('SELECT 1').then(() => true, () => false);
        const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), pingTimeoutMs).unref());
        void Promise.race([answered, timedOut]).then((ok) => {
          if (ok) return;
          log.warn({ timeout_ms: pingTimeoutMs }, 'listener connection did not answer a ping; reconnecting');
          resolve();
        });
      }, pingMs);
      ping.unref();
    });
    c.on('notification', (n) => {
      if (n.channel === o.channel && n.payload) o.onNotification(n.payload);
    });
    try {
      client = c;
      // Raced with `ended`: a connection that dies (or is stopped) mid-setup must not hang the loop.
      await Promise.race([c.connect(), ended]);
      const listening = await Promise.race([c.query(`LISTEN ${o.channel}`).then(() => true), ended.then(() => false)]);
      if (listening) o.onListening?.();
      await ended;
    } finally {
      if (ping) clearInterval(ping);
      client = null;
      await c.end().catch(() => undefined);
    }
  }

  return {
    start() {
      if (loop) return;
      loop = (async () => {
        for (let attempt = 0; !stopped; attempt++) {
          try {
            await connectOnce();
            attempt = 0;
          } catch (err) {
            if (!stopped && attempt % 10 === 0) log.warn({ err }, 'listener cannot connect; retrying');
          }
          if (!stopped) await sleep(Math.min(5_000, retryBaseMs * 2 ** Math.min(attempt, 5)));
        }
      })();
    },
    async stop() {
      stopped = true;
      await client?.end().catch(() => undefined);
      await loop;
    },
  };
}
