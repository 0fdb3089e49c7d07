/**
 * Listens on PostgreSQL's cancel channel (the API notifies it in the cancelling
 * transaction) so a running handler is aborted within milliseconds on whichever worker runs it.
 * The heartbeat noticing the lost lease is the fallback when a notification is missed.
 */
import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log/logger';
import { CANCEL_CHANNEL } from '../../core/tasks/state/sql-fragments';

export interface CancelListener {
  start(): void;
  stop(): Promise<void>;
}

export function createCancelListener(databaseUrl: string, onCancel: (taskId: string) => void, logger: Logger): CancelListener {
  const log = logger.child({ module: 'cancel-listener' });
  let client: Client | null = null;
  let stopped = false;
  let loop: Promise<void> | null = null;

  async function connectOnce(): Promise<void> {
    const c = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, application_name: 'tasker-worker-listen' });
    const ended = new Promise<void>((resolve) => {
      c.on('error', (err) => {
        log.warn({ err: err.message }, 'cancel listener connection error; reconnecting');
        resolve();
      });
      c.on('end', () => resolve());
    });
    c.on('notification', (n) => {
      if (n.channel === CANCEL_CHANNEL && n.payload) onCancel(n.payload);
    });
    await c.connect();
    client = c;
    await c.query(`LISTEN ${CANCEL_CHANNEL}`);
    await ended;
    client = null;
    await c.end().catch(() => undefined);
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
            if (!stopped && attempt % 10 === 0) log.warn({ err }, 'cancel listener cannot connect; retrying');
          }
          if (!stopped) await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
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
