/**
 * Results without polling and many tasks per request, against real processes: a waiting request
 * is answered by the completion's NOTIFY (the periodic re-read is set to a minute, so nothing else
 * could answer it in time), by its timeout, by a cancel or a dead letter; a client that goes away
 * releases its waiter; a missed notification is caught by the re-read; a drain answers waiters at
 * once. A batch is stored whole or not at all, with per-item Idempotency-Keys and the pending cap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/infra';
import { getTask, submitTask } from '../support/api-client';
import { createKey } from '../support/keys';
import { sample } from '../support/prom-text';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { startStack, type Stack } from '../support/stack';

interface TaskView {
  task_id: string;
  status: string;
  result: unknown;
  error: { reason: string } | null;
}

describe('wait for a result and batch submit', () => {
  let s: Stack;
  let base: string;

  before(async () => {
    // A minute between re-reads: within these tests, only a notification can answer a waiter.
    s = await startStack({ WAIT_RECHECK_MS: '60000', WAIT_MAX_SECONDS: '30', BATCH_MAX_TASKS: '5', HEARTBEAT_MS: '300' });
    base = s.base;
  });
  after(async () => {
    await s?.stop();
  });

  const taskCount = async () => Number((await s.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks`)).rows[0]!.n);
  const metric = async (at: string, name: string, labels: Record<string, string> = {}) =>
    sample(await (await fetch(`${at}/metrics`)).text(), name, labels) ?? 0;
  const waitGet = (at: string, id: string, seconds: number, signal?: AbortSignal) => fetch(`${at}/tasks/${id}?wait=${seconds}`, { signal });
  const post = (at: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${at}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  /** The waits this process ended because the task became terminal (not by a timeout that then found it terminal). */
  const wokenWaits = (at: string) => metric(at, 'tasker_result_waits_total', { outcome: 'terminal' });
  const running = (id: string) => waitFor(`task ${id} processing`, async () => (await getTask<TaskView>(base, id)).status === 'processing');

  describe('GET /tasks/:id?wait', () => {
    it('is answered by the completion, not by a re-read', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 500 } });
      const woken = await wokenWaits(base);
      const r = await waitGet(base, id, 30);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      const v = (await r.json()) as TaskView;
      assert.equal(v.status, 'done');
      assert.ok(v.result !== null);
      assert.equal(await wokenWaits(base), woken + 1, 'the wait ended by the notification, not by its time');
    });

    it('is answered by a batched completion (a handler without effects: complete.ts notifies in its UPDATE statement)', async () => {
      const id = await submitTask(base, { type: 'simulate', payload: { durationMs: 300 } });
      const woken = await wokenWaits(base);
      const r = await waitGet(base, id, 30);
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      assert.equal(((await r.json()) as TaskView).status, 'done');
      assert.equal(await wokenWaits(base), woken + 1, 'the wait ended by the notification, not by its time');
    });

    it('answers with the current state and Wait-Timed-Out: true when the wait ends first', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      await running(id);
      const r = await waitGet(base, id, 0.5);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('wait-timed-out'), 'true');
      assert.equal(((await r.json()) as TaskView).status, 'processing');
      assert.equal((await post(base, `/tasks/${id}/cancel`, {})).status, 200);
    });

    it('is answered by a cancel', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      await running(id);
      const waiting = waitGet(base, id, 30);
      await waitFor('the waiter registered', async () => (await metric(base, 'tasker_result_waiters')) >= 1);
      assert.equal((await post(base, `/tasks/${id}/cancel`, {})).status, 200);
      const r = await waiting;
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      assert.equal(((await r.json()) as TaskView).status, 'cancelled');
    });

    it('is answered by a dead letter', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'permanent' } });
      const r = await waitGet(base, id, 30);
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      const v = (await r.json()) as TaskView;
      assert.equal(v.status, 'failed');
      assert.equal(v.error?.reason, 'permanent');
    });

    it('releases the waiter when the client goes away', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      const aborted = await metric(base, 'tasker_result_waits_total', { outcome: 'aborted' });
      const ac = new AbortController();
      const waiting = waitGet(base, id, 30, ac.signal).catch((e: unknown) => e);
      await waitFor('the waiter registered', async () => (await metric(base, 'tasker_result_waiters')) === 1);
      ac.abort();
      assert.ok((await waiting) instanceof Error);
      await waitFor('the waiter released', async () => (await metric(base, 'tasker_result_waiters')) === 0);
      assert.equal(await metric(base, 'tasker_result_waits_total', { outcome: 'aborted' }), aborted + 1);
      await post(base, `/tasks/${id}/cancel`, {});
    });

    it('refuses a wait beyond WAIT_MAX_SECONDS or not a number, naming the problem', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
      for (const w of ['31', 'abc', '-1']) {
        const r = await fetch(`${base}/tasks/${id}?wait=${w}`);
        assert.equal(r.status, 400, w);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'invalid_query');
      }
    });

    it('re-reads the waited tasks when its LISTEN connection comes back', async () => {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      await running(id);
      const woken = await wokenWaits(base);
      const waiting = waitGet(base, id, 30);
      await waitFor('the waiter registered', async () => (await metric(base, 'tasker_result_waiters')) >= 1);
      // Terminal without a NOTIFY (a lost one), then the listener's connection is cut: only the
      // re-read after it reconnects can answer now (the periodic one is a minute away).
      await s.t.db.raw(
        `UPDATE tasks SET status = 'cancelled', lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, finished_at = now() WHERE id = ?`,
        [id],
      );
      const cut = await s.t.db.raw<{ rows: unknown[] }>(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tasker-api-listen' AND datname = current_database()`,
      );
      assert.equal(cut.rows.length, 1, 'the API holds one LISTEN connection');
      const r = await waiting;
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      assert.equal(((await r.json()) as TaskView).status, 'cancelled');
      assert.equal(await wokenWaits(base), woken + 1, 'woken by the re-read, not ended by its time');
    });

    it('answers 404 for an unknown task without waiting', async () => {
      const r = await waitGet(base, '00000000-0000-4000-8000-000000000000', 30);
      assert.equal(r.status, 404);
      assert.equal(await metric(base, 'tasker_result_waiters'), 0);
    });
  });

  describe('ownership (AUTH_MODE=required on a third API process)', () => {
    let api: ServiceProcess;
    let authed: string;
    let keyA: string;
    let keyB: string;
    before(async () => {
      const port = await freePort();
      [keyA, keyB] = await Promise.all([createKey(s.t.env, 'wait-a'), createKey(s.t.env, 'wait-b')]);
      api = await startReady('api', { ...s.t.env, PORT: String(port), AUTH_MODE: 'required' }, port);
      authed = `http://127.0.0.1:${port}`;
    });
    after(async () => {
      await api?.stop();
    });

    it("answers 404 at once for another client's task, and waits for the owner", async () => {
      const auth = (key: string) => ({ authorization: `Bearer ${key}` });
      const id = await submitTask(authed, { type: 'test.record', payload: { mode: 'sleep', durationMs: 300 } }, auth(keyA));
      const other = await fetch(`${authed}/tasks/${id}?wait=30`, { headers: auth(keyB) });
      assert.equal(other.status, 404);
      const own = await fetch(`${authed}/tasks/${id}?wait=30`, { headers: auth(keyA) });
      assert.equal(own.status, 200);
      assert.equal(((await own.json()) as TaskView).status, 'done');
      const batch = await post(authed, '/tasks/batch', { tasks: [{ type: 'test.record', payload: { mode: 'record' } }] }, auth(keyB));
      assert.equal(batch.status, 202);
      const [t] = ((await batch.json()) as { tasks: { task_id: string }[] }).tasks;
      assert.equal((await fetch(`${authed}/tasks/${t!.task_id}`, { headers: auth(keyA) })).status, 404, "a batch's tasks belong to its client");
      assert.equal((await post(authed, '/tasks/batch', { tasks: [{ payload: {} }] })).status, 401);
    });
  });

  describe('POST /tasks?wait', () => {
    it('answers 200 with the result when the task finishes in time', async () => {
      const r = await post(base, '/tasks?wait=30', { type: 'test.record', payload: { mode: 'record' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      const v = (await r.json()) as TaskView;
      assert.equal(v.status, 'done');
      assert.equal(r.headers.get('location'), `/tasks/${v.task_id}`);
    });

    it('answers 202 as without wait when it does not', async () => {
      const r = await post(base, '/tasks?wait=0.3', { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      assert.equal(r.status, 202);
      assert.equal(r.headers.get('wait-timed-out'), 'true');
      const v = (await r.json()) as { task_id: string; status: string };
      assert.equal(v.status, 'pending');
      await post(base, `/tasks/${v.task_id}/cancel`, {});
    });
  });

  describe('a second API process (re-read every 200 ms, pending cap 4)', () => {
    let api: ServiceProcess;
    let other: string;
    before(async () => {
      const port = await freePort();
      api = await startReady('api', { ...s.t.env, PORT: String(port), WAIT_RECHECK_MS: '200', MAX_PENDING_PER_CLIENT: '4' }, port);
      other = `http://127.0.0.1:${port}`;
    });
    after(async () => {
      await api?.stop();
    });

    it('answers a waiter whose notification was missed, by the periodic re-read', async () => {
      const id = await submitTask(other, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      await running(id);
      const woken = await wokenWaits(other);
      const waiting = waitGet(other, id, 30);
      await waitFor('the waiter registered', async () => (await metric(other, 'tasker_result_waiters')) === 1);
      // A terminal change that sends no NOTIFY (as if the notification were lost).
      await s.t.db.raw(
        `UPDATE tasks SET status = 'cancelled', lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, finished_at = now() WHERE id = ?`,
        [id],
      );
      const r = await waiting;
      assert.equal(r.headers.get('wait-timed-out'), 'false');
      assert.equal(((await r.json()) as TaskView).status, 'cancelled');
      assert.equal(await wokenWaits(other), woken + 1, 'woken by the re-read, not ended by its time');
    });

    it('refuses a whole batch that would pass the pending cap, storing nothing', async () => {
      const before = await taskCount();
      const tasks = Array.from({ length: 5 }, (_, i) => ({ type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000, delayMs: i }, timeout_ms: 60_000 }));
      const r = await post(other, '/tasks/batch', { tasks });
      assert.equal(r.status, 429);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'too_many_pending');
      assert.equal(await taskCount(), before);
    });

    it('answers waiting requests at once when it drains', async () => {
      const id = await submitTask(other, { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 60_000 });
      const waiting = waitGet(other, id, 30);
      await waitFor('the waiter registered', async () => (await metric(other, 'tasker_result_waiters')) === 1);
      const stopped = api.stop();
      const r = await waiting;
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('wait-timed-out'), 'true');
      assert.equal(await stopped, 0);
      await post(base, `/tasks/${id}/cancel`, {});
    });
  });

  describe('POST /tasks/batch', () => {
    it('stores every task in one request and runs them', async () => {
      const r = await post(base, '/tasks/batch', { tasks: [1, 2, 3].map((n) => ({ type: 'test.record', payload: { mode: 'record', delayMs: n } })) });
      assert.equal(r.status, 202);
      const body = (await r.json()) as { tasks: { task_id: string; status: string; replayed: boolean }[] };
      assert.equal(body.tasks.length, 3);
      for (const t of body.tasks) {
        assert.deepEqual([t.status, t.replayed], ['pending', false]);
        const v = (await (await waitGet(base, t.task_id, 30)).json()) as TaskView;
        assert.equal(v.status, 'done');
      }
    });

    it('stores nothing when one item is invalid, and names every bad item', async () => {
      const before = await taskCount();
      const r = await post(base, '/tasks/batch', {
        tasks: [
          { type: 'test.record', payload: { mode: 'record' } },
          { type: 'no.such.type', payload: {} },
          { type: 'test.record', payload: { mode: 'record' }, timeout_ms: -1 },
          { type: 'test.record' },
        ],
      });
      assert.equal(r.status, 422);
      const e = ((await r.json()) as { error: { code: string; details: { items: { index: number; code: string }[] } } }).error;
      assert.equal(e.code, 'invalid_batch');
      assert.deepEqual(
        e.details.items.map((i) => [i.index, i.code]),
        [
          [1, 'unknown_type'],
          [2, 'invalid_body'],
          [3, 'missing_payload'],
        ],
      );
      assert.equal(await taskCount(), before);
    });

    it('refuses more than BATCH_MAX_TASKS tasks, and an empty batch', async () => {
      for (const n of [6, 0]) {
        const r = await post(base, '/tasks/batch', { tasks: Array.from({ length: n }, () => ({ payload: {} })) });
        assert.equal(r.status, 422, String(n));
      }
    });

    it('replays items by their idempotency_key, and stores nothing when a key was used for another request', async () => {
      const items = [
        { type: 'test.record', payload: { mode: 'record', delayMs: 1 }, idempotency_key: 'batch-k1' },
        { type: 'test.record', payload: { mode: 'record', delayMs: 2 }, idempotency_key: 'batch-k2' },
      ];
      const first = (await (await post(base, '/tasks/batch', { tasks: items })).json()) as { tasks: { task_id: string; replayed: boolean }[] };
      const count = await taskCount();
      const again = await post(base, '/tasks/batch', { tasks: [...items, { type: 'test.record', payload: { mode: 'record', delayMs: 3 } }] });
      assert.equal(again.status, 202);
      const second = (await again.json()) as { tasks: { task_id: string; replayed: boolean }[] };
      assert.deepEqual(second.tasks.slice(0, 2), first.tasks.map((t) => ({ ...t, replayed: true })));
      assert.equal(second.tasks[2]!.replayed, false);
      assert.equal(await taskCount(), count + 1);
      // The same key on a single POST /tasks with the same request replays the batch's task.
      const single = await post(base, '/tasks', { type: 'test.record', payload: { mode: 'record', delayMs: 1 } }, { 'Idempotency-Key': 'batch-k1' });
      assert.equal(single.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await single.json()) as { task_id: string }).task_id, first.tasks[0]!.task_id);

      const reused = await post(base, '/tasks/batch', {
        tasks: [{ type: 'test.record', payload: { mode: 'record', delayMs: 4 } }, { ...items[1], payload: { mode: 'record', delayMs: 99 } }],
      });
      assert.equal(reused.status, 422);
      const e = ((await reused.json()) as { error: { code: string; details: { items: { index: number }[] } } }).error;
      assert.equal(e.code, 'idempotency_key_reused');
      assert.deepEqual(e.details.items.map((i) => i.index), [1]);
      assert.equal(await taskCount(), count + 1, 'the valid new item was not stored either');
    });

    it('refuses two items with the same idempotency_key', async () => {
      const r = await post(base, '/tasks/batch', { tasks: [{ payload: 1, idempotency_key: 'dup' }, { payload: 2, idempotency_key: 'dup' }] });
      assert.equal(r.status, 422);
      const e = ((await r.json()) as { error: { details: { items: { index: number; code: string }[] } } }).error;
      assert.deepEqual(e.details.items, [{ index: 1, code: 'duplicate_idempotency_key', message: 'another item of this batch has the same idempotency_key' }]);
    });
  });
});
