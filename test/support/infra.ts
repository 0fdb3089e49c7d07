/**
 * Test infrastructure on the real PostgreSQL and RabbitMQ: a fresh, migrated database and a
 * unique AMQP name prefix per test file, so files run in parallel and leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import knexFactory, { type Knex } from 'knex';
import { Client } from 'pg';
import { knexConfig } from '../../services/core/db/knex-config';
import { loadConfig, type Config } from '../../services/core/config/config';
import { buildTopology, deleteTopology } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension, TEST_EXTENSION_PATH } from '../plugin/test-extension';

export const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const START_HINT =
  'start them with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; rabbitmq-server -detached ' +
  '(or run bash .ci/ensure-services)';

export interface TestEnv {
  databaseUrl: string;
  prefix: string;
  /** Environment for child processes and loadConfig. */
  env: Record<string, string>;
  config: Config;
  db: Knex;
  cleanup(): Promise<void>;
}

/** Where the test database and the broker live (default: the machine's PostgreSQL and RabbitMQ). */
export interface TestInfra {
  adminDatabaseUrl: string;
  rabbitmqUrl: string;
}

export async function createTestEnv(
  overrides: Record<string, string> = {},
  { adminDatabaseUrl = ADMIN_DATABASE_URL, rabbitmqUrl = RABBITMQ_URL }: Partial<TestInfra> = {},
): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const name = `tasker_test_${id}`;
  const admin = new Client({ connectionString: adminDatabaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${adminDatabaseUrl}; ${START_HINT}`, { cause: e });
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const prefix = `t${id}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: rabbitmqUrl,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    EXTENSIONS: TEST_EXTENSION_PATH,
    ...overrides,
  };
  const config = loadConfig(env);
  const db = knexFactory(knexConfig(config, 'tasker-test'));
  await db.migrate.latest();
  // Tables of the test-only task types (never created by migrations).
  await db.raw(`CREATE TABLE test_executions (task_id uuid NOT NULL, attempt int NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  await db.raw(`CREATE TABLE test_effects (task_id uuid PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  try {
    const c = await amqp.connect(rabbitmqUrl);
    await c.close();
  } catch (e) {
    throw new Error(`RabbitMQ is not reachable at ${rabbitmqUrl}; ${START_HINT}`, { cause: e });
  }

  return {
    databaseUrl,
    prefix,
    env,
    config,
    db,
    async cleanup() {
      await db.destroy();
      await removeTopology(rabbitmqUrl, prefix);
      const a = new Client({ connectionString: adminDatabaseUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function removeTopology(rabbitmqUrl: string, prefix: string): Promise<void> {
  const c = await amqp.connect(rabbitmqUrl);
  try {
    await deleteTopology(c, buildTopology(prefix, taskTypes([extension]), 1));
  } finally {
    await c.close();
  }
}

/** Runs one statement as the admin user (on `database`, default postgres) and returns its rows. */
export async function adminQuery<T>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
  const u = new URL(ADMIN_DATABASE_URL);
  u.pathname = `/${database}`;
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
