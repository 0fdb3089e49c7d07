/**
 * Operator-facing task operations against real processes: listing with cursors, cancellation
 * (pending and running), replaying dead letters one by one and in bulk, typed handler errors,
 * per-task timeouts and the attempt error history.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor, type TestEnv } from '../support/infra';
import { getTask, submitTask } from '../support/api-client';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { queueSettled } from '../support/rabbitmq';
import { startStack, type Stack } from '../support/stack';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';

interface TaskView {
  task_id: string;
  type: string;
  status: string;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  error: { reason: string; message: string; attempt: number } | null;
  errors: { reason: string; attempt: number }[];
}

describe('task operations', () => {
  let t: TestEnv;
  let worker: ServiceProcess;
  let base: string;
  let s: Stack;

  before(async () => {
    s = await startStack({
      HEARTBEAT_MS: '300',
      SWEEP_INTERVAL_MS: '100',
      // 5/s: 200 ms between replayed tasks, well above the 100 ms sweep granularity that releases them.
      REPLAY_RATE_PER_SECOND: '5',
      TASK_TIMEOUT_CEILING_MS: '60000',
    });
    ({ t, worker, base } = s);
  });
  after(async () => {
    await worker?.stop(); // a test replaces the stack's worker with a fresh one
    await s?.stop();
  });

  const submit = (type: string, payload: unknown, extra: Record<string, unknown> = {}) => submitTask(base, { type, payload, ...extra });
  const get = (id: string) => getTask<TaskView>(base, id);
  const post = (path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  const until = (id: string, status: string, timeoutMs = 15_000) =>
    waitFor(`task ${id} ${status}`, async () => ((await get(id)).status === status ? get(id) : null), timeoutMs);
  const recordQueue = () => queuesFor(buildTopology(t.prefix, taskTypes([extension]), 10), ['test.record'])[0]!.name;
  const executions = async (id: string) =>
    Number((await t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM test_executions WHERE task_id = ?`, [id])).rows[0]!.n);

  it('fails a permanent error at once, without retries', async () => {
    const id = await submit('test.record', { mode: 'permanent' });
    const v = await until(id, 'failed');
    assert.equal(v.attempts, 1);
    assert.equal(v.error?.reason, 'permanent');
    assert.equal(await executions(id), 1);
  });

  it('reschedules a retry-later error without spending an attempt', async () => {
    const id = await submit('test.record', { mode: 'retry-later', failTimes: 2, delayMs: 100 });
    const v = await until(id, 'done');
    assert.equal(await executions(id), 3);
    assert.equal(v.attempts, 1, 'two refunded attempts and the successful one');
  });

  it('keeps every failed attempt in the error history', async () => {
    const id = await submit('test.record', { mode: 'fail' });
    const v = await until(id, 'failed');
    assert.equal(v.attempts, 3);
    assert.deepEqual(v.errors.map((e) => [e.reason, e.attempt]), [['error', 1], ['error', 2], ['error', 3]]);
  });

  it('times out an attempt at its per-task timeout, and rejects one above the ceiling', async () => {
    const id = await submit('test.record', { mode: 'sleep', durationMs: 10_000 }, { timeout_ms: 300 });
    const v = await waitFor('timeout recorded', async () => {
      const x = await get(id);
      return x.errors.length > 0 ? x : null;
    });
    assert.equal(v.timeout_ms, 300);
    assert.equal(v.errors[0]?.reason, 'timeout');
    const r = await post('/tasks', { type: 'test.record', payload: {}, timeout_ms: 120_000 });
    assert.equal(r.status, 422);
    await post(`/tasks/${id}/cancel`);
  });

  it('cancels a pending task so it never runs', async () => {
    await worker.stop();
    const id = await submit('test.record', { mode: 'record' });
    const r = await post(`/tasks/${id}/cancel`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as TaskView).status, 'cancelled');
    const adminPort = await freePort();
    worker = await startReady('worker', { ...t.env, WORKER_ADMIN_PORT: String(adminPort) }, adminPort);
    // Positive signal before the negative check: the new worker has received the cancelled
    // task's message and acked it (the queue holds nothing, ready or unacked); it acks only after
    // its claim committed, so a claim that had taken the task would show in its status by now.
    await queueSettled(recordQueue());
    assert.equal((await get(id)).status, 'cancelled');
    assert.equal(await executions(id), 0);
  });

  it('cancels a running task: its handler is aborted within a second', async () => {
    const id = await submit('test.record', { mode: 'sleep', durationMs: 20_000 });
    await worker.waitForLog('started', (l) => l.task_id === id && l.msg === 'task started');
    const at = Date.now();
    assert.equal((await post(`/tasks/${id}/cancel`)).status, 200);
    await worker.waitForLog('aborted', (l) => l.task_id === id && l.msg === 'task cancelled; handler aborted', 5_000);
    assert.ok(Date.now() - at < 1_500, `aborted after ${Date.now() - at} ms`);
    const v = await get(id);
    assert.equal(v.status, 'cancelled');
    const effect = await t.db.raw<{ rows: unknown[] }>(`SELECT 1 FROM test_effects WHERE task_id = ?`, [id]);
    assert.equal(effect.rows.length, 0, 'a cancelled task has no effect');
    assert.equal((await post(`/tasks/${id}/cancel`)).status, 200, 'cancel is idempotent');
  });

  it('refuses to cancel or retry a task in the wrong state with 409', async () => {
    const id = await submit('test.record', { mode: 'record' });
    await until(id, 'done');
    const c = await post(`/tasks/${id}/cancel`);
    assert.equal(c.status, 409);
    assert.equal(((await c.json()) as { error: { code: string } }).error.code, 'not_cancellable');
    const r = await post(`/tasks/${id}/retry`);
    assert.equal(r.status, 409);
  });

  it('replays one dead letter with a fresh attempt budget', async () => {
    const id = await submit('test.record', { mode: 'fail', failTimes: 3 });
    await until(id, 'failed');
    const r = await post(`/tasks/${id}/retry`);
    assert.equal(r.status, 202);
    const v = await until(id, 'done');
    assert.equal(v.attempts, 4);
  });

  it('lists dead letters by status and type with cursor pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await submit('test.record', { mode: 'permanent' }));
    for (const id of ids) await until(id, 'failed');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q = new URLSearchParams({ status: 'failed', type: 'test.record', limit: '2', ...(cursor ? { cursor } : {}) });
      const page = (await (await fetch(`${base}/tasks?${q.toString()}`)).json()) as { tasks: TaskView[]; next_cursor: string | null };
      assert.ok(page.tasks.length <= 2);
      for (const x of page.tasks) {
        assert.equal(x.status, 'failed');
        assert.equal(x.type, 'test.record');
        seen.push(x.task_id);
      }
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    for (const id of ids) assert.ok(seen.includes(id), `listed ${id}`);
    assert.equal(new Set(seen).size, seen.length, 'no task listed twice');
    const bad = await fetch(`${base}/tasks?limit=100000`);
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${base}/tasks?cursor=garbage`)).status, 400);
    assert.equal((await fetch(`${base}/tasks?status=nope`)).status, 400);
  });

  it('replays dead letters in bulk, spread at the configured rate', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit('test.record', { mode: 'fail', failTimes: 3 }));
    for (const id of ids) await until(id, 'failed');
    // Earlier tests left other failed tasks with reason "error"; the replay takes them all.
    const r = await post('/dead-letters/replay', { type: 'test.record', reason: 'error', limit: 50 });
    assert.equal(r.status, 202);
    const body = (await r.json()) as { replayed: number; spread_ms: number };
    assert.ok(body.replayed >= 6, `replayed ${body.replayed}`);
    assert.equal(body.spread_ms, (body.replayed - 1) * 200, 'spread at 5 tasks/s');
    for (const id of ids) await until(id, 'done');
    const starts = await t.db.raw<{ rows: { at: Date }[] }>(
      `SELECT max(at) AS at FROM test_executions WHERE task_id = ANY(?::uuid[]) AND attempt = 4 GROUP BY task_id ORDER BY 1`,
      [ids],
    );
    const span = starts.rows.at(-1)!.at.getTime() - starts.rows[0]!.at.getTime();
    // Six of them, 200 ms apart: 1 s planned; the sweep (every 100 ms) and the claim batching blur each end.
    assert.ok(span >= 600, `replayed executions spread over ${span} ms`);
  });
});
