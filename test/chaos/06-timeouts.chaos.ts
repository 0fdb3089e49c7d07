/**
 * Scenario 6 — timeouts and runaway handlers, all on ONE worker process:
 *  - test.record `sleep` for 60 s with timeout_ms=1000: honours its AbortSignal → `timeout`;
 *  - test.thread `busy`: spins in a worker thread ignoring every signal (type timeout 2000 ms) → the
 *    thread is terminated → `timeout`;
 *  - test.thread `hog`: allocates until its 64 MB heap limit → `error` ("heap limit").
 * Criterion: every attempt of each ends failed/retried with its reason within its timeout + 2 s
 * (from the claim to the recorded error), each ends `failed` after its maxAttempts, and the same
 * worker keeps processing a stream of ordinary tasks meanwhile (and does not exit).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, pct, publish, round, transitionsOf, type Cluster, type Proc } from './support/harness';

let c: Cluster;
let worker: Proc;

before(async () => {
  c = await createCluster({ WORKER_CONCURRENCY: '8' });
  await c.startApi();
  worker = await c.startWorker();
});
after(() => c?.close());

test('scenario 6: sleeping, busy-looping and memory-hogging handlers time out; the worker keeps going', async (t) => {
  const t0 = performance.now();
  const cases = [
    { name: 'sleep', body: { type: 'test.record', payload: { mode: 'sleep', durationMs: 60_000 }, timeout_ms: 1_000 }, timeoutMs: 1_000, reason: /^timeout$/, maxAttempts: 3, message: /timed out after 1000 ms/ },
    { name: 'busy', body: { type: 'test.thread', payload: { mode: 'busy' } }, timeoutMs: 2_000, reason: /^timeout$/, maxAttempts: 2, message: /timed out after 2000 ms/ },
    // The thread dies at its heap limit ('error') or, if allocating is slower than the 2 s timeout on a
    // busy machine, is terminated by the timeout ('timeout'); either way it cannot stall the worker.
    { name: 'hog', body: { type: 'test.thread', payload: { mode: 'hog' } }, timeoutMs: 2_000, reason: /^(error|timeout)$/, maxAttempts: 2, message: /heap limit|timed out after 2000 ms/ },
  ];
  const bad: string[] = [];
  for (const k of cases) {
    const s = await c.submit(k.body);
    assert.equal(s.status, 202, JSON.stringify(s.body));
    bad.push(s.id!);
  }
  // Ordinary traffic on the same worker while the runaway handlers occupy it.
  const others = await c.load({ count: 60, ratePerSecond: 10, concurrency: 4, maxMs: 20_000, body: () => ({ type: 'test.record', payload: { mode: 'record' } }) });
  await c.waitTerminal([...bad, ...others.accepted], 30_000);
  const figures: Record<string, unknown> = {};
  const checks: (() => void)[] = [];
  for (const [i, k] of cases.entries()) {
    const v = await c.getTask(bad[i]!);
    const tr = await transitionsOf(c.t, bad[i]!);
    const claims = tr.filter((x) => x.new_status === 'processing');
    // attempt n: claimed at claims[n-1].at, error recorded at errors[n-1].at
    const attemptSeconds = v.errors.map((e) => {
      const claim = claims.find((x) => x.attempts === e.attempt);
      return claim ? round((Date.parse(e.at) - claim.at.getTime()) / 1000) : -1;
    });
    figures[k.name] = { status: v.status, attempts: v.attempts, reasons: v.errors.map((e) => e.reason), attemptSeconds, lastError: v.error?.message };
    checks.push(() => {
    assert.equal(v.status, 'failed', `${k.name} ends failed`);
    assert.equal(v.attempts, k.maxAttempts, `${k.name} used its ${k.maxAttempts} attempts`);
    assert.equal(v.errors.length, k.maxAttempts, `${k.name}: every attempt's error kept`);
    for (const e of v.errors) {
      assert.match(e.reason, k.reason, `${k.name} attempt ${e.attempt} reason`);
      assert.match(e.message, k.message);
    }
    for (const s of attemptSeconds) {
      assert.ok(s >= 0 && s <= k.timeoutMs / 1000 + 2, `${k.name}: attempt ended within timeout + 2 s (took ${s} s)`);
    }
    });
  }
  const lat = await c.t.db.raw<{ rows: { s: number }[] }>(
    `SELECT extract(epoch FROM finished_at - created_at) AS s FROM tasks WHERE id = ANY(?::uuid[])`,
    [others.accepted],
  );
  const latency = lat.rows.map((x) => Number(x.s));
  const r = await c.report('6-timeouts', [...bad, ...others.accepted], {
    extra: {
      ...figures,
      othersAccepted: others.accepted.length,
      othersLatencySecondsP50: pct(latency, 50),
      othersLatencySecondsMax: pct(latency, 100),
      workerExits: worker.exits,
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  for (const check of checks) check();
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, others.accepted.length, 'every ordinary task done');
  assert.equal(others.accepted.length, 60);
  assert.ok(pct(latency, 100) <= 3, `ordinary tasks kept flowing (slowest ${pct(latency, 100)} s from submit to done)`);
  assert.equal(r.duplicateExecutions, 0);
  assert.deepEqual(worker.exits, [], 'the worker did not exit');
  assert.equal(worker.p.child.exitCode, null);
});
