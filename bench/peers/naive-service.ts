/**
 * The naive service the issue measures Tasker against: Koa + pg + amqplib written the obvious way.
 * `node naive-service.js api`: POST /tasks inserts one row (autocommit) and publishes one persistent
 * message on a confirm channel, answering 202 after the confirm — durable, no batching.
 * `node naive-service.js consumer`: one plain consumer (prefetch 100) that marks the row started,
 * then done, then acks. Env: DATABASE_URL, RABBITMQ_URL, NAIVE_QUEUE, PORT.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import Koa from 'koa';
import pg from 'pg';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};

export const NAIVE_TABLE = `CREATE TABLE IF NOT EXISTS naive_tasks (
  id uuid PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, status text NOT NULL DEFAULT 'pending',
  created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz)`;

async function api(): Promise<void> {
  const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
  const conn = await amqp.connect(env('RABBITMQ_URL'));
  const ch = await conn.createConfirmChannel();
  const queue = env('NAIVE_QUEUE');
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.method !== 'POST' || ctx.path !== '/tasks') {
      ctx.status = ctx.path === '/ready' ? 200 : 404;
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of ctx.req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; payload: unknown };
    const id = randomUUID();
    await pool.query('INSERT INTO naive_tasks (id, type, payload) VALUES ($1, $2, $3)', [id, body.type, JSON.stringify(body.payload)]);
    await new Promise<void>((resolve, reject) =>
      ch.sendToQueue(queue, Buffer.from(JSON.stringify({ task_id: id })), { persistent: true }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error('publish nacked')) : resolve())),
    );
    ctx.status = 202;
    ctx.body = { task_id: id, status: 'pending' };
  });
  app.listen(Number(env('PORT')), '127.0.0.1', () => process.send?.({ ready: true }));
}

async function consumer(): Promise<void> {
  const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 10 });
  const conn = await amqp.connect(env('RABBITMQ_URL'));
  const ch = await conn.createChannel();
  await ch.prefetch(100);
  await ch.consume(env('NAIVE_QUEUE'), (msg) => {
    if (!msg) return;
    const { task_id: id } = JSON.parse(msg.content.toString()) as { task_id: string };
    void (async () => {
      await pool.query(`UPDATE naive_tasks SET status = 'processing', started_at = now() WHERE id = $1 AND status = 'pending'`, [id]);
      await pool.query(`UPDATE naive_tasks SET status = 'done', finished_at = now() WHERE id = $1`, [id]);
      ch.ack(msg);
    })().catch(() => ch.nack(msg, false, true));
  });
  process.send?.({ ready: true });
}

if (require.main === module) {
  const mode = process.argv[2];
  (mode === 'api' ? api() : mode === 'consumer' ? consumer() : Promise.reject(new Error('mode: api | consumer'))).catch((err: unknown) => {
    process.stderr.write(`naive ${mode} failed: ${String(err)}\n`);
    process.exit(1);
  });
}
