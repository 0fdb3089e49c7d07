/**
 * Bounds on an attempt (issue 12, items 8 and 9), with real worker processes: a handler that ignores
 * its signal keeps its slot until it really returns; retry times come from PostgreSQL's clock, not
 * the worker's; a task cannot snooze (RetryLaterError) forever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getTask, submitTask } from '../support/api-client';
import { CLOCK_SKEW_PRELOAD } from '../support/clock-skew';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

describe('attempt bounds', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let base: string;
  const started: ServiceProcess[] = [];
  const worker = async (extra: Record<string, string>) => {
    const port = await freePort();
    const w = await startReady('worker', { ...t.env, WORKER_ADMIN_PORT: String(port), ...extra }, port);
    started.push(w);
    return w;
  };

  before(async () => {
    const port = await freePort();
    t = await createTestEnv({ PORT: String(port), SWEEP_INTERVAL_MS: '200', RETRY_BASE_MS: '100', RETRY_MAX_MS: '200' });
    api = await startReady('api', t.env, port);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all([api, ...started].map((p) => p?.stop()));
    await t?.cleanup();
  });

  it('a handler that ignores its timeout keeps its slot until it returns: running work never exceeds WORKER_CONCURRENCY (item 8)', async () => {
    const w = await worker({ WORKER_CONCURRENCY: '1', WORKER_TASK_TYPES: 'test.record' });
    try {
    const slow = await submitTask(base, { type: 'test.record', timeout_ms: 300, payload: { mode: 'ignore-signal', durationMs: 2_000 } });
    await w.waitForLog('the slow task started', (l) => l.msg === 'task started' && l.task_id === slow);
    const quick = await submitTask(base, { type: 'test.record', payload: { mode: 'record' } });
    const quickStart = await w.waitForLog('the quick task started', (l) => l.msg === 'task started' && l.task_id === quick, 15_000);
    const slowEnd = w.logs.find((l) => l.msg === 'test handler finished' && l.task_id === slow);
    assert.ok(slowEnd, 'the slow handler had finished before the next task started');
    assert.ok(String(quickStart.time) >= String(slowEnd.time), `quick started ${String(quickStart.time)}, slow handler ended ${String(slowEnd.time)}`);
    } finally {
      await w.stop();
    }
  });

  it('a retry is scheduled on the database clock, not on a worker clock an hour ahead (item 9)', async () => {
    const w = await worker({ WORKER_TASK_TYPES: 'test.record', NODE_OPTIONS: `--require ${CLOCK_SKEW_PRELOAD}`, TEST_CLOCK_SKEW_MS: String(3_600_000) });
    try {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'fail', failTimes: 1 } });
      await waitFor('the retried task done', async () => (await getTask<{ status: string }>(base, id)).status === 'done', 15_000);
    } finally {
      await w.stop();
    }
  });

  it('a task cannot snooze forever: after MAX_SNOOZES a RetryLaterError spends attempts (item 9)', async () => {
    const w = await worker({ WORKER_TASK_TYPES: 'test.record', MAX_SNOOZES: '2' });
    try {
      const id = await submitTask(base, { type: 'test.record', payload: { mode: 'retry-later', failTimes: 100, delayMs: 50 } });
      await waitFor('the snoozing task ends', async () => (await getTask<{ status: string }>(base, id)).status === 'failed', 20_000);
      const task = await getTask<{ attempts: number; errors: { reason: string }[] }>(base, id);
      assert.equal(task.attempts, 3, 'max_attempts spent once the snoozes were used up');
      assert.equal(task.errors.length, 2 + 3, 'two snoozes, then three attempts');
    } finally {
      await w.stop();
    }
  });
});
