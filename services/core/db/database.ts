/** The process's PostgreSQL pool (through knex) and the checks readiness needs. */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { knexConfig, MIGRATIONS_DIR } from './knex-config';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';

export type Db = Knex;

export function createDatabase(config: Config, logger: Logger, applicationName: string): Db {
  // knex's pg dialect listens for 'error' on every client and marks it disposable, so an idle
  // client killed during a database restart is dropped from the pool instead of crashing us.
  const db = knexFactory(knexConfig(config, applicationName));
  logger.debug({ pool_max: config.DB_POOL_MAX }, 'database pool created');
  return db;
}

/** Errors that mean "the database is not reachable right now", as opposed to a bug in a query. */
export function isDatabaseUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH'].includes(code)) return true;
    // 57P: operator intervention (admin shutdown, cannot connect now); 08: connection exceptions; 53: resources.
    if (/^(57P0[1-3]|08\d{3}|53\d{3})$/.test(code)) return true;
  }
  return (
    e.name === 'KnexTimeoutError' ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e.message,
    )
  );
}

/** Deadlocks and serialization failures: the statement did nothing and may simply be run again. */
export function isTransientDatabaseError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001' || isDatabaseUnavailable(e);
}

/** The newest migration this build ships; the schema must be at least this version. */
export function requiredSchemaVersion(dir = MIGRATIONS_DIR): string {
  const versions = fs
    .readdirSync(dir)
    .filter((f) => /^\d{14}_.*\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, 14))
    .sort();
  const latest = versions.at(-1);
  if (!latest) throw new Error(`no migrations found in ${path.resolve(dir)}`);
  return latest;
}

export type SchemaState = { ok: true; version: string } | { ok: false; version: string | null; required: string };

/** Compares the applied migrations with what the code needs (names compared without extension). */
export async function checkSchema(db: Db, required: string): Promise<SchemaState> {
  const exists = await db.raw<{ rows: { t: string | null }[] }>(`SELECT to_regclass('knex_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return { ok: false, version: null, required };
  const r = await db.raw<{ rows: { v: string | null }[] }>(`SELECT max(substr(name, 1, 14)) AS v FROM knex_migrations`);
  const version = r.rows[0]?.v ?? null;
  if (version !== null && version >= required) return { ok: true, version };
  return { ok: false, version, required };
}
