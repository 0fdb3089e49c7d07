/**
 * A PostgreSQL session advisory lock held on a dedicated connection, so that of several replicas
 * (API pods) only one runs a background job at a time. `held()` answers whether this process holds
 * the lock now, taking it when it is free; if the connection breaks, PostgreSQL drops the lock with
 * the session and another replica takes it on its next `held()`. Advisory locks are scoped to the
 * current database, so two installations (or two test databases) never contend.
 */
import { Client } from 'pg';
import type { Logger } from '../log/logger';

export interface AdvisoryLock {
  /** True while this process holds the lock; tries to take it when it does not. Never throws. */
  held(): Promise<boolean>;
  /** Ends the session (which releases the lock). Safe twice and before the first `held()`. */
  release(): Promise<void>;
}

export interface AdvisoryLockOptions {
  databaseUrl: string;
  /** The lock's key in PostgreSQL's 64-bit advisory key space. */
  key: bigint;
  name: string;
  logger: Logger;
}

export function createAdvisoryLock(o: AdvisoryLockOptions): AdvisoryLock {
  const log = o.logger.child({ module: 'advisory-lock', lock: o.name });
  let client: Client | null = null;
  let holding = false;
  let released = false;

  const drop = (c: Client) => {
    if (client !== c) return;
    if (holding) log.warn('lost the lock with its connection; another replica may take it');
    client = null;
    holding = false;
    void c.end().catch(() => undefined);
  };

  async function connect(): Promise<Client> {
    const c = new Client({
      connectionString: o.databaseUrl,
      connectionTimeoutMillis: 5_000,
      application_name: `tasker-lock-${o.name}`,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    c.on('error', () => drop(c)); // an idle client's error must not crash the process
    await c.connect();
    return c;
  }

  return {
    async held() {
      if (released) return false;
      try {
        client ??= await connect();
        if (released) {
          await this.release();
          return false;
        }
        // Also a liveness check of the session while held: a dead connection throws here.
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [o.key.toString()]);
        // A session lock is re-entrant: release the extra level so one unlock would free it.
        if (holding && r.rows[0]?.ok) await client.query('SELECT pg_advisory_unlock($1::bigint)', [o.key.toString()]);
        else if (r.rows[0]?.ok) {
          holding = true;
          log.info('lock taken; this replica runs the job');
        }
        return holding;
      } catch (err: unknown) {
        log.debug({ err }, 'advisory lock not reachable; skipping this run');
        if (client) drop(client);
        return false;
      }
    },
    async release() {
      released = true;
      const c = client;
      client = null;
      holding = false;
      await c?.end().catch(() => undefined);
    },
  };
}
