/**
 * The migrate entry point (`npm run migrate`, the chart's migration Job, compose's one-shot
 * service): creates the database if it does not exist yet, then runs knex `migrate:latest` with
 * the configuration of core/db/knex-config.ts. Migrations run here only, never from the API or the worker.
 */
import knexFactory from 'knex';
import { Client } from 'pg';
import { knexConfig } from '../core/db/knex-config';
import { loadConfig } from '../core/config/config';
import { createLogger } from '../core/log/logger';

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
  await ensureDatabase(config.DATABASE_URL, log);
  const db = knexFactory(knexConfig(config, 'tasker-migrate'));
  try {
    // knex takes an advisory lock on knex_migrations_lock, so concurrent Jobs cannot both migrate.
    const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
    log.info({ batch, applied }, applied.length ? 'migrations applied' : 'schema already up to date');
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tasker-migrate failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
