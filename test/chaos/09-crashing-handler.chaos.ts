/**
 * Scenario 9 — a handler that kills its own worker process (test.record `crash`: SIGKILL, no
 * cleanup), with ordinary tasks queued behind it. Two supervised workers (restarted when they die,
 * as Kubernetes would). Criterion: the crashing task ends `failed` (reason `crashed`) after at most
 * maxAttempts (3) crashes, and every task queued behind it reaches a terminal state, exactly once in
 * effect. A task that was *running beside* the crasher dies with its process and is retried; one that
 * keeps landing beside it (the recovered tasks are republished and often claimed together) can use up
 * its attempts the same way — so a task behind may end `failed`, but only with `crashed` attempts,
 * never lost, never run twice in effect. Every other task behind it ends `done`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, type Cluster } from './support/harness';

const BEHIND = 40;
let c: Cluster;

before(async () => {
  c = await createCluster({ WORKER_CONCURRENCY: '4' });
  await c.startApi();
  await Promise.all([c.startWorker({}, { supervise: true }), c.startWorker({}, { supervise: true })]);
});
after(() => c?.close());

test('scenario 9: a handler that crashes its process', async (t) => {
  const t0 = performance.now();
  const crash = await c.submit({ type: 'test.record', payload: { mode: 'crash' } });
  assert.equal(crash.status, 202);
  const behind = await c.load({ count: BEHIND, concurrency: 4, maxMs: 20_000, body: () => ({ type: 'test.record', payload: { mode: 'record', durationMs: 100 } }) });
  assert.equal(behind.accepted.length, BEHIND);
  const crashId = crash.id!;
  const ids = [crashId, ...behind.accepted];
  await c.waitTerminal(ids, 60_000);
  const v = await c.getTask(crashId);
  const execs = await c.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM test_executions WHERE task_id = ?`, [crashId]);
  const span = await c.t.db.raw<{ rows: { s: number }[] }>(`SELECT extract(epoch FROM finished_at - created_at) AS s FROM tasks WHERE id = ?`, [crashId]);
  const exits = c.workers().flatMap((w) => w.exits);
  const r = await c.report('9-crashing-handler', ids, {
    extra: {
      crashTask: { status: v.status, attempts: v.attempts, reasons: v.errors.map((e) => e.reason), executions: Number(execs.rows[0]?.n) },
      workerExits: exits,
      queuedBehind: behind.accepted.length,
      secondsSubmitToCrashTaskFailed: round(Number(span.rows[0]?.s)),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assert.equal(v.status, 'failed');
  assert.equal(v.error?.reason, 'crashed');
  assert.ok(v.attempts <= 3, 'at most maxAttempts attempts');
  assert.ok(Number(execs.rows[0]?.n) <= 3, 'at most maxAttempts crashes');
  assert.equal(exits.length, Number(execs.rows[0]?.n), 'one worker death per crash');
  assert.ok(exits.every((x) => x === 'signal:SIGKILL'));
  assertNoLossNoDuplicateEffect(r);
  const behindViews = await Promise.all(behind.accepted.map((id) => c.getTask(id)));
  const casualties = behindViews.filter((b) => b.status !== 'done');
  for (const b of casualties) {
    assert.equal(b.status, 'failed', `task ${b.task_id} behind the crasher is ${b.status}`);
    assert.ok(b.errors.length > 0 && b.errors.every((e) => e.reason === 'crashed'), `task ${b.task_id} failed only by crashes beside the crasher`);
  }
  assert.ok(casualties.length < BEHIND / 4, `most tasks behind it finished (${BEHIND - casualties.length} of ${BEHIND})`);
  assert.equal(r.duplicateExecutions, 0);
});
