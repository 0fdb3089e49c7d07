/**
 * The migrate entry point (`npm run migrate`, the chart's migration Job, compose's one-shot
 * service): waits (bounded) for PostgreSQL to accept connections, creates the database if it does
 * not exist yet, runs knex `migrate:latest` on the service's knex configuration, and stores the
 * hash of API_KEY_SEED when set. Migrations run here only, never from the API or the worker.
 */
import { Client } from 'pg';
import { createApiKeyRepository } from '../core/auth/api-key.repository';
import { loadConfig, type Config } from '../core/config/config';
import { createDatabase, type Db } from '../core/db/database';
import { createLogger } from '../core/log/logger';
import { seedApiKey } from '../keys/seed-api-key';
import { withDatabaseWait } from './wait-for-database';

async function ensureDatabase(url: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e; // 3D000: database does not exist
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    log.info({ database: name }, 'database created');
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created concurrently
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('tasker-migrate', config.LOG_LEVEL);
  const waitS = Math.round(config.MIGRATE_DATABASE_WAIT_MS / 1000);
  await withDatabaseWait(() => ensureDatabase(config.DATABASE_URL, log), {
    timeoutMs: config.MIGRATE_DATABASE_WAIT_MS,
    onRetry: ({ error, delayMs, waitedMs }) =>
      log.info(
        { err_code: (error as { code?: string }).code, err: error.message },
        `database not accepting connections yet; retrying in ${(delayMs / 1000).toFixed(1)} s (waited ${Math.round(waitedMs / 1000)} s of ${waitS} s)`,
      ),
  });
  const db = createDatabase(config, log, 'tasker-migrate');
  try {
    // knex takes an advisory lock on knex_migrations_lock, so concurrent Jobs cannot both migrate.
    const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
    log.info({ batch, applied }, applied.length ? 'migrations applied' : 'schema already up to date');
    await seedConfiguredKey(config, db, log);
  } finally {
    await db.destroy();
  }
}

/** Stores API_KEY_SEED's hash (the chart's `apiKeySeed` Secret) so a fresh install has a working key. */
async function seedConfiguredKey(config: Config, db: Db, log: ReturnType<typeof createLogger>): Promise<void> {
  if (!config.API_KEY_SEED) return;
  const outcome = await seedApiKey(createApiKeyRepository(db), {
    plain: config.API_KEY_SEED,
    clientId: config.API_KEY_SEED_CLIENT,
    admin: config.API_KEY_SEED_ADMIN,
  });
  const msg = {
    created: 'seed API key stored (only its hash)',
    present: 'seed API key already stored',
    revoked: 'seed API key was revoked; left revoked (remove API_KEY_SEED or rotate the Secret)',
  }[outcome];
  log[outcome === 'revoked' ? 'warn' : 'info']({ client: config.API_KEY_SEED_CLIENT, admin: config.API_KEY_SEED_ADMIN }, msg);
}

main().catch((err: unknown) => {
  process.stderr.write(`tasker-migrate failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
