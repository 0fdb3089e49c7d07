/**
 * Knex configuration: the one description of how to reach PostgreSQL and where migrations live.
 * Built from an already-loaded Config (no environment is read here); the API, the worker, the
 * migrate entry point and the root `knexfile.ts` (for the knex CLI) all use it.
 */
import path from 'node:path';
import type { Knex } from 'knex';
import type { Config } from '../config/config';

/** Migrations are compiled next to `services/`, so the same path works from the sources and from `dist/`. */
export const MIGRATIONS_DIR = path.join(__dirname, '..', '..', '..', 'migrations');
const EXT = path.extname(__filename);

export type DatabaseSettings = Pick<
  Config,
  'DATABASE_URL' | 'DB_POOL_MAX' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_STATEMENT_TIMEOUT_MS' | 'DB_IDLE_IN_TX_TIMEOUT_MS'
>;

export function knexConfig(c: DatabaseSettings, applicationName = 'tasker'): Knex.Config {
  return {
    client: 'pg',
    connection: {
      connectionString: c.DATABASE_URL,
      application_name: applicationName,
      connectionTimeoutMillis: c.DB_CONNECT_TIMEOUT_MS,
      statement_timeout: c.DB_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: c.DB_IDLE_IN_TX_TIMEOUT_MS,
      // Client-side bound too: statement_timeout cannot help when the network to the server is gone.
      query_timeout: c.DB_STATEMENT_TIMEOUT_MS + 1_000,
      keepAlive: true,
      // JIT compiles a plan whose estimate looks expensive: the fair claim over a large backlog
      // costs ~1 ms to run and ~570 ms to JIT-compile (measured). These are all short OLTP statements.
      options: '-c jit=off',
    },
    pool: {
      min: 0,
      max: c.DB_POOL_MAX,
      acquireTimeoutMillis: c.DB_CONNECT_TIMEOUT_MS + 1_000,
      createTimeoutMillis: c.DB_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
    },
    acquireConnectionTimeout: c.DB_CONNECT_TIMEOUT_MS + 1_000,
    migrations: {
      directory: MIGRATIONS_DIR,
      tableName: 'knex_migrations',
      loadExtensions: [EXT],
      extension: EXT.slice(1),
    },
  };
}
