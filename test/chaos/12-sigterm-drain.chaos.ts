/**
 * Scenario 12 — SIGTERM with 8 tasks in flight (WORKER_CONCURRENCY=8; the default prefetch of 16 lets
 * the worker hold the 8 others unacked, handed back when it stops; tasks of 2 s, DRAIN_TIMEOUT_MS=8000). Criterion: after the signal the worker takes no new
 * deliveries, the 8 in-flight tasks finish exactly once (no release, no re-run), and the worker
 * exits 0 within the drain timeout. The queued 8 then run on a fresh worker (lost 0).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/infra';
import { assertNoLossNoDuplicateEffect, createCluster, executionsOf, publish, round, type Cluster } from './support/harness';

const DRAIN_MS = 8_000;
let c: Cluster;

before(async () => {
  c = await createCluster({ WORKER_CONCURRENCY: '8', DRAIN_TIMEOUT_MS: String(DRAIN_MS) });
  await c.startApi();
});
after(() => c?.close());

test('scenario 12: SIGTERM with 8 tasks in flight', async (t) => {
  const t0 = performance.now();
  const w = await c.startWorker();
  const load = await c.load({ count: 16, concurrency: 16, maxMs: 10_000, body: () => ({ type: 'test.record', payload: { mode: 'sleep', durationMs: 2_000 } }) });
  assert.equal(load.accepted.length, 16);
  await waitFor('8 in flight', () => Promise.resolve(w.p.logs.filter((l) => l.msg === 'task started').length >= 8), 15_000, 20);
  await new Promise((r) => setTimeout(r, 300)); // anything beyond 8 would show up by now
  const startedBefore = new Set(w.p.logs.filter((l) => l.msg === 'task started').map((l) => l.task_id!));
  const logsAtSignal = w.p.logs.length;
  const sigAt = performance.now();
  const code = await c.kill(w, 'SIGTERM');
  const exitSeconds = (performance.now() - sigAt) / 1000;
  const startedAfter = w.p.logs.slice(logsAtSignal).filter((l) => l.msg === 'task started');
  const inFlight = [...startedBefore];
  const inFlightViews = await Promise.all(inFlight.map((id) => c.getTask(id)));
  const execs = await executionsOf(c.t, inFlight);
  // The 8 still queued run on a fresh worker.
  await c.startWorker();
  await c.waitTerminal(load.accepted, 30_000);
  const r = await c.report('12-sigterm-drain', load.accepted, {
    extra: {
      inFlightAtSignal: startedBefore.size,
      newDeliveriesAfterSignal: startedAfter.length,
      exitCode: code,
      exitSeconds: round(exitSeconds),
      drainTimeoutSeconds: DRAIN_MS / 1000,
      inFlightStatusesAtExit: [...new Set(inFlightViews.map((v) => v.status))],
      released: w.p.logs.filter((l) => l.msg.startsWith('drain timeout')).length,
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assert.equal(code, 0, 'exit 0');
  assert.ok(exitSeconds <= DRAIN_MS / 1000, `exited within the drain timeout (${round(exitSeconds)} s)`);
  assert.equal(startedAfter.length, 0, 'no new deliveries after SIGTERM');
  for (const v of inFlightViews) {
    assert.equal(v.status, 'done', 'in-flight task finished before the exit');
    assert.equal(v.attempts, 1);
  }
  for (const id of inFlight) assert.equal(execs.get(id)?.length, 1, 'ran once');
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, 16);
  assert.equal(r.executions, 16);
  assert.equal(r.duplicateExecutions, 0);
  // Checked last so the drain criteria above are evaluated even while this one fails.
  assert.equal(startedBefore.size, 8, `exactly 8 in flight at the signal: WORKER_CONCURRENCY=8 (${startedBefore.size} running)`);
});
