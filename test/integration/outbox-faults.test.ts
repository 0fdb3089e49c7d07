/**
 * Faults around the outbox and statement timeouts (issue 12, items 3–6), on the real PostgreSQL and
 * RabbitMQ: a claim that times out on a held table lock, an API statement timeout, the sweeper's row
 * locks during a slow publish, stale republishing with no consumer, and an operator retry.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import knexFactory from 'knex';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { knexConfig } from '../../services/core/db/knex-config';
import { claimTasks } from '../../services/core/tasks/state/claim';
import { insertTasks } from '../../services/core/tasks/state/insert';
import { sweepDue } from '../../services/core/tasks/state/sweep-due';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { getTask, submitTask } from '../support/api-client';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { messageCount } from '../support/rabbitmq';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('outbox and timeout faults', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let base: string;
  let testQueue: string;
  let deadLetters: string;
  const workers: ServiceProcess[] = [];
  /** A worker that sweeps and reaps but consumes only `simulate`: nothing consumes the test queue. */
  const sweeperOnly = async (extra: Record<string, string> = {}) => {
    const port = await freePort();
    const w = await startReady('worker', { ...t.env, WORKER_ADMIN_PORT: String(port), WORKER_TASK_TYPES: 'simulate', ...extra }, port);
    workers.push(w);
    return w;
  };

  before(async () => {
    const port = await freePort();
    t = await createTestEnv({ PORT: String(port), SWEEP_INTERVAL_MS: '200', SWEEP_UNCONFIRMED_AFTER_MS: '500', DB_STATEMENT_TIMEOUT_MS: '500' });
    api = await startReady('api', t.env, port);
    base = `http://127.0.0.1:${port}`;
    const topology = buildTopology(t.prefix, taskTypes([extension]), 10);
    testQueue = queuesFor(topology, ['test.record'])[0]!.name;
    deadLetters = topology.deadLetterQueue;
  });
  after(async () => {
    await Promise.all([api, ...workers].map((p) => p?.stop()));
    await t?.cleanup();
  });

  it('an API statement timeout is a 503 with Retry-After, not a 500 (item 3)', async () => {
    const id = await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
    const trx = await t.db.transaction();
    try {
      await trx.raw(`SELECT 1 FROM tasks WHERE id = ? FOR UPDATE`, [id]);
      const r = await fetch(`${base}/tasks/${id}/cancel`, { method: 'POST' });
      assert.equal(r.status, 503, await r.clone().text());
      assert.ok(r.headers.get('retry-after'));
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'service_unavailable');
    } finally {
      await trx.rollback();
    }
  });

  it('a claim that hits the statement timeout holds its message and claims later; nothing is dead-lettered (item 3)', async () => {
    const id = await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
    await waitFor('the API confirmed the publish', async () => (await t.db('tasks').where({ id }).first<{ published_at: Date | null }>())?.published_at);
    const trx = await t.db.transaction();
    let w: ServiceProcess | undefined;
    try {
      // The claim skips locked rows (SKIP LOCKED), so a row lock no longer stalls it; a table lock
      // that conflicts with its row locks (reads still pass) makes it run into the statement timeout.
      await trx.raw(`LOCK TABLE tasks IN EXCLUSIVE MODE`);
      const port = await freePort();
      w = await startReady('worker', { ...t.env, WORKER_ADMIN_PORT: String(port), WORKER_TASK_TYPES: 'test.record' }, port);
      workers.push(w);
      await w.waitForLog('the claim ran into the statement timeout', (l) => /claim failed/.test(l.msg), 10_000);
      await trx.rollback();
      await waitFor('task done after the lock is gone', async () => (await getTask<{ status: string }>(base, id)).status === 'done', 15_000);
      assert.equal(await messageCount(deadLetters), 0, 'no message dead-lettered');
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
      await w?.stop();
    }
  });

  it('the sweeper holds no row lock while it waits for the broker (item 4)', async () => {
    const [task] = await insertTasks(t.db, [
      { id: randomUUID(), type: 'test.record', payload: {}, maxAttempts: 1, timeoutMs: 1000, traceContext: {}, clientId: 'c' },
    ]);
    await t.db.raw(`UPDATE tasks SET created_at = now() - interval '1 minute', updated_at = now() - interval '1 minute' WHERE id = ?`, [task!.id]);
    const impatient = knexFactory(knexConfig({ ...t.config, DB_STATEMENT_TIMEOUT_MS: 500 }, 'impatient-claim'));
    try {
      let publishing!: () => void;
      const publishStarted = new Promise<void>((r) => (publishing = r));
      const sweep = sweepDue(t.db, { limit: 10, unconfirmedAfterMs: 1000, republishAfterMs: 60_000, staleLimit: 10 }, async (rows) => {
        publishing();
        await sleep(2_000); // a slow broker: confirms take seconds
        return rows;
      });
      await publishStarted;
      const claimed = await claimTasks(impatient, [task!.id], randomUUID(), 10_000, 'w');
      assert.equal(claimed.length, 1, 'the claim was not blocked by the sweeper');
      await sweep;
    } finally {
      await impatient.destroy();
    }
  });

  it('an operator retry is published once (item 6)', async () => {
    const sweeper = await sweeperOnly();
    try {
    const id = await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
    // Make it a dead letter as a worker would have: claimed once, then failed.
    await t.db.raw(
      `UPDATE tasks SET status = 'failed', attempts = 1, started_at = now(), finished_at = now(), published_at = NULL,
              lease_token = NULL, lease_expires_at = NULL, locked_by = NULL WHERE id = ?`,
      [id],
    );
    const depth = await messageCount(testQueue);
    const r = await fetch(`${base}/tasks/${id}/retry`, { method: 'POST' });
    assert.equal(r.status, 202);
    await waitFor('the retry publish confirmed and recorded', async () => (await t.db('tasks').where({ id }).first<{ published_at: Date | null }>())?.published_at, 5_000);
    await sleep(1_000); // five sweep intervals
    assert.equal(await messageCount(testQueue), depth + 1);
    } finally {
      await sweeper.stop();
    }
  });

  it('with no consumer, stale republishing keeps the queue depth at the real backlog (item 5)', async () => {
    await sweeperOnly({ SWEEP_REPUBLISH_AFTER_MS: '1000' });
    const before = await messageCount(testQueue);
    for (let i = 0; i < 10; i++) await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
    await waitFor('ten messages queued', async () => (await messageCount(testQueue)) === before + 10);
    await sleep(4_000); // four republish periods
    assert.equal(await messageCount(testQueue), before + 10);
  });
});
