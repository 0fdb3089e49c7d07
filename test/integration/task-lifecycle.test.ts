/**
 * The task lifecycle end to end through real API and worker processes on the real PostgreSQL
 * and RabbitMQ: submit → done, retries, duplicates, malformed messages, broker loss, crash
 * recovery and a clean drain on SIGTERM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { getTask, submitTask } from '../support/api-client';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { closeConnectionsOf, messageCount, publishRaw, queueSettled } from '../support/rabbitmq';

interface TaskView {
  task_id: string;
  status: string;
  attempts: number;
  result: unknown;
  error: { reason: string; message: string; attempt: number } | null;
}

describe('task lifecycle', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let base: string;
  const workers: ServiceProcess[] = [];

  async function startWorker(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = await freePort();
    const w = await startReady('worker', { ...t.env, WORKER_ADMIN_PORT: String(port), ...extra }, port);
    workers.push(w);
    return w;
  }

  before(async () => {
    const port = await freePort();
    t = await createTestEnv({
      PORT: String(port),
      RETRY_BASE_MS: '100',
      RETRY_MAX_MS: '200',
      LEASE_MS: '3000',
      HEARTBEAT_MS: '500',
      REAP_INTERVAL_MS: '500',
      SWEEP_INTERVAL_MS: '200',
      SWEEP_UNCONFIRMED_AFTER_MS: '500',
      DRAIN_TIMEOUT_MS: '10000',
    });
    api = await startReady('api', t.env, port);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all([api?.stop(), ...workers.map((w) => w.stop())]);
    await t?.cleanup();
  });

  const submit = (payload: unknown) => submitTask(base, { payload });
  const simulateQueue = () => queuesFor(buildTopology(t.prefix, taskTypes([extension]), 10), ['simulate'])[0]!.name;
  const get = (id: string) => getTask<TaskView>(base, id);
  const until = (id: string, status: string, timeoutMs = 15_000) =>
    waitFor(`task ${id} ${status}`, async () => {
      const v = await get(id);
      return v.status === status ? v : null;
    }, timeoutMs);
  const startedCount = (id: string) =>
    workers.flatMap((w) => w.logs).filter((l) => l.task_id === id && l.msg === 'task started').length;
  /**
   * The worker's log lines reach this process through a pipe, the task's state through HTTP: the
   * state can arrive first. Waits until `n` starts are logged, then returns the count (which the
   * tests still compare exactly, so an extra start fails them).
   */
  const startsLogged = async (id: string, n: number) => {
    await waitFor(`${n} starts of ${id} logged`, () => Promise.resolve(startedCount(id) >= n), 2_000).catch(() => undefined);
    return startedCount(id);
  };

  it('runs a submitted task to done through a worker process', async () => {
    await startWorker();
    const id = await submit({ durationMs: 200, note: 'hi' });
    const seen = new Set<string>();
    const v = await waitFor('done', async () => {
      const x = await get(id);
      seen.add(x.status);
      return x.status === 'done' ? x : null;
    }, 15_000, 20);
    assert.ok(seen.has('processing'), `saw processing (saw ${[...seen].join(',')})`);
    assert.deepEqual(v.result, { echo: { durationMs: 200, note: 'hi' }, slept_ms: 200, attempt: 1 });
    assert.equal(v.attempts, 1);
    assert.equal(await startsLogged(id, 1), 1);
  });

  it('retries a failing attempt with backoff and then succeeds', async () => {
    const id = await submit({ durationMs: 0, failTimes: 2 });
    const v = await until(id, 'done');
    assert.equal(v.attempts, 3);
    assert.equal(v.error?.attempt, 2, 'the last failed attempt stays visible');
    assert.equal(await startsLogged(id, 3), 3);
  });

  it('fails a task after max attempts with the last error', async () => {
    const id = await submit({ durationMs: 0, failTimes: 50 });
    const v = await until(id, 'failed');
    assert.equal(v.attempts, 3);
    assert.equal(v.error?.reason, 'error');
    assert.match(v.error?.message ?? '', /simulated failure on attempt 3/);
    assert.equal(await startsLogged(id, 3), 3);
  });

  it('runs the handler once when the message is delivered several times', async () => {
    const id = await submit({ durationMs: 300 });
    const msg = JSON.stringify({ task_id: id, type: 'simulate' });
    await publishRaw(`${t.prefix}.tasks`, 'simulate', msg);
    await publishRaw(`${t.prefix}.tasks`, 'simulate', msg);
    await until(id, 'done');
    // Positive signal before the negative check: the broker holds no message of the queue, so
    // every copy was delivered and acked — and a worker acks only after its claim has committed,
    // so a copy that had claimed the task again would show in `attempts` by now.
    await queueSettled(simulateQueue());
    assert.equal((await get(id)).attempts, 1);
    assert.equal(await startsLogged(id, 1), 1);
  });

  it('dead-letters a malformed message on first delivery', async () => {
    const before = await messageCount(`${t.prefix}.dead-letter`);
    await publishRaw(`${t.prefix}.tasks`, 'simulate', 'this is not json');
    await waitFor('dead letter', async () => (await messageCount(`${t.prefix}.dead-letter`)) === before + 1);
  });

  it('reports /ready 503 while the broker connection is cut, and 200 after it reconnects', async () => {
    // Recovery reconnects within ~200 ms, so sample /ready every 10 ms around the cut.
    const statuses: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        statuses.push(await fetch(`${base}/ready`).then((r) => r.status, () => 0));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const closed = await closeConnectionsOf(api.child.pid!);
    assert.ok(closed >= 1, 'found the API connection on the broker');
    await api.waitForLog('reconnect', (l) => l.msg.startsWith('broker connected') && l.reconnects === 1, 10_000);
    await waitFor('ready again', () => Promise.resolve(statuses.at(-1) === 200), 10_000);
    sampling = false;
    await sampler;
    const firstDown = statuses.indexOf(503);
    assert.ok(firstDown >= 0, `saw 503 while disconnected (saw ${[...new Set(statuses)].join(',')})`);
    assert.equal(statuses.at(-1), 200);
    assert.equal(api.child.exitCode, null, 'the API did not exit');
    const id = await submit({ durationMs: 0 });
    await until(id, 'done');
  });

  it('recovers a task from a worker killed mid-task (lease expiry)', async () => {
    for (const w of workers.splice(0)) await w.stop();
    const victim = await startWorker();
    const id = await submit({ durationMs: 2_000 });
    await victim.waitForLog('task started', (l) => l.task_id === id && l.msg === 'task started');
    assert.equal(await victim.stop('SIGKILL'), 'signal:SIGKILL');
    await startWorker();
    const v = await until(id, 'done', 20_000);
    assert.equal(v.attempts, 2, 'the crashed attempt counts');
  });

  it('drains on SIGTERM: the in-flight task completes and the worker exits 0', async () => {
    for (const w of workers.splice(0)) await w.stop();
    const w = await startWorker();
    const id = await submit({ durationMs: 1_500 });
    await w.waitForLog('task started', (l) => l.task_id === id && l.msg === 'task started');
    const code = await w.stop('SIGTERM');
    assert.equal(code, 0);
    const v = await get(id);
    assert.equal(v.status, 'done');
    assert.equal(v.attempts, 1);
  });
});
