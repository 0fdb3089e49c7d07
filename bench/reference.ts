/**
 * The machine's own reference points, measured in the same run as the service: a bare Koa handler
 * under the same autocannon settings, single-row inserts of a task-shaped row, and confirmed
 * publishes to a quorum queue.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { cannon, type LoadResult } from './load';
import { freePort, startBareKoa, waitReady } from './processes';
import { CpuMeter } from './proc-stats';

export interface References {
  bareKoa: LoadResult & { cores: Record<string, number> };
  pgInsert: { clients: number; seconds: number; rows: number; rowsPerSec: number };
  amqpPublish: { window: number; seconds: number; messages: number; msgPerSec: number };
}

export async function bareKoa(): Promise<References['bareKoa']> {
  const port = await freePort();
  const svc = startBareKoa(port);
  try {
    await waitReady(svc, port, '/');
    const url = `http://127.0.0.1:${port}/tasks`;
    await cannon({ url, connections: 50, seconds: BENCH.warmupSeconds });
    const meter = new CpuMeter({ 'bare-koa': svc.pid, bench: process.pid });
    const r = await cannon({ url, connections: 50, seconds: BENCH.loadSeconds });
    return { ...r, cores: meter.stop().cores };
  } finally {
    await svc.stop();
  }
}

/** Single-row INSERTs into a copy of `tasks` (same columns, defaults, constraints and indexes). */
export async function pgInsert(env: BenchEnv): Promise<References['pgInsert']> {
  await env.db.query('CREATE TABLE bench_scratch (LIKE tasks INCLUDING ALL)');
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: BENCH.insertClients });
  try {
    const payload = JSON.stringify({ durationMs: 0 });
    const trace = JSON.stringify({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const sql = `INSERT INTO bench_scratch (id, type, payload, max_attempts, timeout_ms, trace_context, client_id)
                 VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, $7) RETURNING id`;
    // Warm the pool's connections first.
    await Promise.all(Array.from({ length: BENCH.insertClients }, () => pool.query('SELECT 1')));
    let rows = 0;
    const start = performance.now();
    const end = start + BENCH.referenceSeconds * 1000;
    await Promise.all(
      Array.from({ length: BENCH.insertClients }, async () => {
        while (performance.now() < end) {
          await pool.query(sql, [randomUUID(), 'simulate', payload, 3, 60_000, trace, '']);
          rows++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { clients: BENCH.insertClients, seconds, rows, rowsPerSec: rows / seconds };
  } finally {
    await pool.end();
    await env.db.query('DROP TABLE IF EXISTS bench_scratch');
  }
}

/** Persistent publishes to a scratch quorum queue on a confirm channel, `window` in flight at a time. */
export async function amqpPublish(env: BenchEnv): Promise<References['amqpPublish']> {
  const conn = await amqp.connect(BENCH.rabbitmqUrl);
  const queue = `${env.prefix}.bench-reference`;
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const body = Buffer.from(JSON.stringify({ task_id: randomUUID(), type: 'simulate' }));
    let messages = 0;
    const start = performance.now();
    const end = start + BENCH.referenceSeconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < BENCH.publishWindow; i++) {
        ch.publish('', queue, body, { persistent: true, contentType: 'application/json', messageId: randomUUID() });
      }
      await ch.waitForConfirms();
      messages += BENCH.publishWindow;
    }
    const seconds = (performance.now() - start) / 1000;
    await ch.deleteQueue(queue);
    await ch.close();
    return { window: BENCH.publishWindow, seconds, messages, msgPerSec: messages / seconds };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
