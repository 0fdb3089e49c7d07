/**
 * Safe at zero (issue 13): with no worker running, the API's sweeper and reaper publish a retry
 * that became due and a task whose lease expired, so its queue depth — the activation signal of
 * the group's autoscaler — becomes 1 within a bounded time. Two API replicas: one holds the
 * recovery lock, and when it stops the other takes over. Real API processes, PostgreSQL, RabbitMQ.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { claimTasks } from '../../services/core/tasks/state/claim';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { submitTask } from '../support/api-client';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { sample } from '../support/prom-text';
import amqp from 'amqplib';
import { RABBITMQ_URL } from '../support/infra';
import { messageCount } from '../support/rabbitmq';

async function purgeQueue(queue: string): Promise<void> {
  const c = await amqp.connect(RABBITMQ_URL);
  try {
    await (await c.createChannel()).purgeQueue(queue);
  } finally {
    await c.close();
  }
}

/** The bound: a sweep interval (200 ms) plus a reap interval, with ample room for a loaded CI machine. */
const BOUND_MS = 10_000;

describe('every worker group at zero replicas', () => {
  let t: TestEnv;
  const apis: ServiceProcess[] = [];
  const ports: number[] = [];
  let queue: string;

  const startApi = async () => {
    const port = await freePort();
    apis.push(await startReady('api', { ...t.env, PORT: String(port) }, port));
    ports.push(port);
    return port;
  };
  /** The API published the task and recorded its confirm (mark-published is batched: wait for it, or it would overwrite a later reset). */
  const firstPublish = async (id: string) => {
    await waitFor('the first publish', async () => (await messageCount(queue)) === 1);
    await waitFor('its confirm recorded', async () => {
      const r = await t.db.raw<{ rows: { published_at: Date | null }[] }>(`SELECT published_at FROM tasks WHERE id = ?`, [id]);
      return r.rows[0]?.published_at != null;
    });
  };
  const advisoryHolders = async () =>
    Number(
      (
        await t.db.raw<{ rows: { n: string }[] }>(
          // pg_locks is cluster-wide: only this database's recovery lock (key 0x7461736b_72656376, a bigint key: objsubid 1).
          `SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = x'7461736b'::int AND objid = x'72656376'::bigint
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).rows[0]!.n,
    );

  before(async () => {
    t = await createTestEnv({ SWEEP_INTERVAL_MS: '200', REAP_INTERVAL_MS: '200', QUEUE_METRICS_INTERVAL_MS: '200' });
    queue = queuesFor(buildTopology(t.prefix, taskTypes([extension]), 10), ['simulate'])[0]!.name;
    await startApi();
  });
  after(async () => {
    await Promise.all(apis.map((p) => p.stop()));
    await t?.cleanup();
  });

  it('a retry that becomes due is published by the API: queue depth 0 → 1', async () => {
    const base = `http://127.0.0.1:${ports[0]}`;
    const id = await submitTask(base, { type: 'simulate', payload: {} });
    await firstPublish(id);
    await purgeQueue(queue);
    // What `fail` leaves behind when a worker's attempt failed and the group then went to zero.
    await t.db.raw(`UPDATE tasks SET attempts = 1, published_at = NULL, run_after = now() + interval '1 second' WHERE id = ?`, [id]);
    assert.equal(await messageCount(queue), 0);
    const dueAt = Date.now() + 1_000;
    await waitFor('the API to publish the due retry', async () => (await messageCount(queue)) === 1, 1_000 + BOUND_MS);
    const took = Date.now() - dueAt;
    assert.ok(took < BOUND_MS, `published ${took} ms after it became due`);
    await purgeQueue(queue);
    await t.db.raw(`DELETE FROM tasks`);
  });

  it('a task whose worker vanished (expired lease) is reaped and published by the API', async () => {
    const base = `http://127.0.0.1:${ports[0]}`;
    const id = await submitTask(base, { type: 'simulate', payload: {} });
    await firstPublish(id);
    await purgeQueue(queue);
    // A worker claimed it (the message acked) and was killed: only its 300 ms lease remains.
    assert.equal((await claimTasks(t.db, [id], randomUUID(), 300, 'gone:1')).length, 1);
    await waitFor('the API to reap and publish it', async () => (await messageCount(queue)) === 1, BOUND_MS);
    const row = (await t.db.raw<{ rows: { status: string }[] }>(`SELECT status FROM tasks WHERE id = ?`, [id])).rows[0]!;
    assert.equal(row.status, 'pending');
  });

  it('the API exports the scaling signal: due pending + running tasks per queue', async () => {
    // One pending (published, from the last test), one running, one scheduled for later (not counted).
    const base = `http://127.0.0.1:${ports[0]}`;
    const running = await submitTask(base, { type: 'simulate', payload: {} });
    await claimTasks(t.db, [running], randomUUID(), 60_000, 'busy:1');
    const later = await submitTask(base, { type: 'simulate', payload: {} });
    await t.db.raw(`UPDATE tasks SET run_after = now() + interval '1 hour' WHERE id = ?`, [later]);
    const value = await waitFor('tasker_scaling_work_tasks = 2', async () => {
      const v = sample(await (await fetch(`${base}/metrics`)).text(), 'tasker_scaling_work_tasks', { queue });
      return v === 2 ? v : null;
    });
    assert.equal(value, 2);
  });

  it('with two API replicas one holds the recovery lock; when it stops, the other takes over', async () => {
    await startApi();
    await waitFor('one advisory lock', async () => (await advisoryHolders()) === 1);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await advisoryHolders(), 1, 'never two holders');
    await apis[0]!.stop();
    await waitFor('the second replica to take the lock', async () => (await advisoryHolders()) === 1, BOUND_MS);
    // ...and it sweeps: a retry due now is published.
    await t.db.raw(`DELETE FROM tasks`);
    await purgeQueue(queue);
    const id = await submitTask(`http://127.0.0.1:${ports[1]}`, { type: 'simulate', payload: {} });
    await firstPublish(id);
    await purgeQueue(queue);
    await t.db.raw(`UPDATE tasks SET attempts = 1, published_at = NULL WHERE id = ?`, [id]);
    await waitFor('the surviving API to publish the retry', async () => (await messageCount(queue)) === 1, BOUND_MS);
  });
});
