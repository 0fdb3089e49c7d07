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

/**
 * Transient database errors: the statement did nothing (or its transaction rolled back) and the
 * same work may succeed if tried again later. Workers retry them (bounded by the lease for
 * outcome writes); the API answers 503 with Retry-After. Anything else is a bug or bad data.
 * The table is tested row by row in test/unit/database-errors.test.ts.
 */
const TRANSIENT_SQLSTATES: readonly RegExp[] = [
  /^08\d{3}$/, // connection exceptions
  /^53\d{3}$/, // insufficient resources (too many connections, out of memory, disk full)
  /^57P0[1-3]$/, // admin/crash shutdown, cannot connect now (restart, failover)
  /^57014$/, // query_canceled: statement_timeout (a lock held too long, an overloaded server)
  /^55P03$/, // lock_not_available: lock_timeout
  /^40001$/, // serialization failure
  /^40P01$/, // deadlock detected
  /^25006$/, // read-only transaction: the server we reached was demoted by a failover
];
const TRANSIENT_NODE_CODES: readonly string[] = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN'];
/** Driver and pool errors that carry no code: pg's client-side query timeout, a dropped connection, the pool's acquire timeout. */
const TRANSIENT_MESSAGES = /Query read timeout|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i;

export function isTransientDatabaseError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_NODE_CODES.includes(code) || TRANSIENT_SQLSTATES.some((r) => r.test(code)))) return true;
  return e.name === 'KnexTimeoutError' || TRANSIENT_MESSAGES.test(e.message);
}

/** For the API: a transient database error means "unavailable now, try again" (503 + Retry-After). */
export const isDatabaseUnavailable = isTransientDatabaseError;

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
