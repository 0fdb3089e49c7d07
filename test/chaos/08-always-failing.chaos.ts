/**
 * Scenario 8 — an always-failing handler (test.record `fail`: maxAttempts 3, backoff base 200 ms,
 * cap 400 ms, full jitter) next to ordinary traffic. Criterion: exactly maxAttempts executions per
 * failing task; between attempts n and n+1 the gap is at least the backoff delay drawn for attempt n
 * (next claim ≥ run_after), and that delay lies in the configured range [0, min(cap, base·2^(n−1))]
 * (full jitter has no positive lower bound); final `failed` with the last error (reason `error`,
 * attempt 3); the ordinary tasks all finish, once, unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, executionsOf, pct, publish, round, transitionsOf, type Cluster } from './support/harness';

const FAILING = 10;
const ORDINARY = 100;
const BASE_MS = 200;
const CAP_MS = 400;
const MAX_ATTEMPTS = 3;
let c: Cluster;

before(async () => {
  c = await createCluster();
  await c.startApi();
  await Promise.all([c.startWorker(), c.startWorker()]);
});
after(() => c?.close());

test('scenario 8: always-failing handler', async (t) => {
  const t0 = performance.now();
  const load = await c.load({
    count: FAILING + ORDINARY,
    concurrency: 8,
    maxMs: 30_000,
    body: (i) => ({ type: 'test.record', payload: { mode: i % 11 === 0 ? 'fail' : 'record' } }),
  });
  assert.equal(load.accepted.length, FAILING + ORDINARY);
  const failing = load.accepted.filter((_, i) => i % 11 === 0);
  const ordinary = load.accepted.filter((_, i) => i % 11 !== 0);
  await c.waitTerminal(load.accepted, 30_000);
  const execs = await executionsOf(c.t, load.accepted);
  const drawnMs: number[] = [];
  const gapMs: number[] = [];
  for (const id of failing) {
    const v = await c.getTask(id);
    assert.equal(v.status, 'failed');
    assert.equal(v.attempts, MAX_ATTEMPTS);
    assert.equal(execs.get(id)?.length, MAX_ATTEMPTS, 'exactly maxAttempts executions');
    assert.deepEqual(execs.get(id)?.map((e) => e.attempt), [1, 2, 3]);
    assert.equal(v.error?.reason, 'error');
    assert.equal(v.error?.attempt, MAX_ATTEMPTS);
    assert.match(v.error?.message ?? '', /test failure on attempt 3/);
    assert.deepEqual(v.errors.map((e) => e.attempt), [1, 2, 3], 'every attempt error kept');
    const tr = await transitionsOf(c.t, id);
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      const failedAt = tr.find((x) => x.old_status === 'processing' && x.new_status === 'pending' && x.attempts === n)!;
      const nextClaim = tr.find((x) => x.new_status === 'processing' && x.attempts === n + 1)!;
      assert.ok(failedAt && nextClaim, `attempt ${n} failure and attempt ${n + 1} claim recorded`);
      const drawn = failedAt.run_after.getTime() - failedAt.at.getTime();
      const gap = nextClaim.at.getTime() - failedAt.at.getTime();
      drawnMs.push(drawn);
      gapMs.push(gap);
      assert.ok(nextClaim.at.getTime() >= failedAt.run_after.getTime(), `attempt ${n + 1} not claimed before its run_after`);
      assert.ok(drawn <= Math.min(CAP_MS, BASE_MS * 2 ** (n - 1)) + 50, `backoff after attempt ${n} within the configured range (${drawn} ms)`);
      assert.ok(gap >= drawn, `gap ${gap} ms ≥ drawn backoff ${drawn} ms`);
    }
  }
  const lat = await c.t.db.raw<{ rows: { s: number }[] }>(`SELECT extract(epoch FROM finished_at - created_at) AS s FROM tasks WHERE id = ANY(?::uuid[])`, [ordinary]);
  const r = await c.report('8-always-failing', load.accepted, {
    extra: {
      failing: failing.length,
      ordinary: ordinary.length,
      backoffDrawnMs: { min: pct(drawnMs, 0), p50: pct(drawnMs, 50), max: pct(drawnMs, 100) },
      retryGapMs: { min: pct(gapMs, 0), p50: pct(gapMs, 50), max: pct(gapMs, 100) },
      ordinaryLatencySecondsMax: pct(lat.rows.map((x) => Number(x.s)), 100),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.failed, FAILING);
  assert.equal(r.done, ORDINARY, 'ordinary traffic unaffected: all done');
  for (const id of ordinary) assert.equal(execs.get(id)?.length, 1, 'ordinary tasks ran once');
  assert.equal(r.executions, FAILING * MAX_ATTEMPTS + ORDINARY);
  assert.equal(r.duplicateExecutions, 0);
});
