/**
 * One benchmark environment: a fresh PostgreSQL database (migrated by the real migrate entry point)
 * and a unique AMQP prefix; `cleanup` drops both, and is safe to call twice or after a failure.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { buildTopology, assertTopology, deleteTopology, type Topology } from '../services/core/amqp/topology';
import { taskTypes } from '../services/core/tasks/task-types';
import { BENCH } from './config';
import { runToExit } from './processes';
import { waitForQuiet } from './proc-stats';

export interface BenchEnv {
  databaseName: string;
  databaseUrl: string;
  prefix: string;
  topology: Topology;
  /** The queue that carries `simulate` tasks. */
  queue: string;
  /** A pool on the bench database (bench's own queries; not used for load). */
  db: pg.Pool;
  /** Environment shared by every spawned service. */
  serviceEnv: Record<string, string>;
  /** Empties tasks (and the idempotency table) and the task queue, between phases. */
  reset(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createBenchEnv(): Promise<BenchEnv> {
  const id = randomBytes(4).toString('hex');
  const databaseName = `tasker_bench_${id}`;
  const prefix = `bench${id}`;
  const admin = new pg.Client({ connectionString: BENCH.adminDatabaseUrl, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${databaseName}`);
  } finally {
    await admin.end();
  }
  const url = new URL(BENCH.adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  const databaseUrl = url.toString();
  const topology = buildTopology(prefix, taskTypes(), 10);
  const queue = topology.queues.find((q) => q.types.includes('simulate'))?.name ?? `${prefix}.q.simulate`;
  const serviceEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: BENCH.rabbitmqUrl,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    AUTH_MODE: 'none',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    // Read by workers only (the API ignores them).
    WORKER_CONCURRENCY: String(BENCH.workerConcurrency),
    WORKER_PREFETCH: String(BENCH.workerPrefetch),
  };
  let db: pg.Pool | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await db?.end().catch(() => undefined);
    const c = await amqp.connect(BENCH.rabbitmqUrl).catch(() => null);
    if (c) {
      await deleteTopology(c, topology, [`${prefix}.bench-reference`, `${prefix}.bench-naive`]).catch(() => undefined);
      await c.close().catch(() => undefined);
    }
    const a = new pg.Client({ connectionString: BENCH.adminDatabaseUrl, connectionTimeoutMillis: 5_000 });
    await a.connect();
    try {
      await a.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    } finally {
      await a.end();
    }
  };
  try {
    const code = await runToExit('migrate', { ...serviceEnv, OTEL_SDK_DISABLED: 'true' }, 60_000);
    if (code !== 0) throw new Error(`migrate exited with ${code}`);
    db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    // The topology exists before any service starts, so backlog messages can be published first.
    const c = await amqp.connect(BENCH.rabbitmqUrl);
    try {
      const ch = await c.createChannel();
      await assertTopology(ch, topology);
      await ch.close();
    } finally {
      await c.close();
    }
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
  const pool = db;
  return {
    databaseName,
    databaseUrl,
    prefix,
    topology,
    queue,
    db: pool,
    serviceEnv,
    async reset() {
      await pool.query('TRUNCATE tasks, idempotency_keys');
      await purgeQueue(queue);
      await waitForQuiet(10_000);
    },
    cleanup,
  };
}

/** Empties one queue on its own short connection. */
export async function purgeQueue(queue: string): Promise<void> {
  const c = await amqp.connect(BENCH.rabbitmqUrl);
  try {
    const ch = await c.createChannel();
    await ch.purgeQueue(queue);
    await ch.close();
  } finally {
    await c.close();
  }
}

export interface Versions {
  postgres: string;
  rabbitmq: string;
}

export async function serverVersions(db: pg.Pool): Promise<Versions> {
  const r = await db.query<{ server_version: string }>('SHOW server_version');
  const c = await amqp.connect(BENCH.rabbitmqUrl);
  const v: unknown = c.connection.serverProperties.version;
  await c.close();
  const rabbitmq = typeof v === 'string' ? v : 'unknown';
  return { postgres: r.rows[0]?.server_version ?? 'unknown', rabbitmq };
}
