/**
 * Scenario 1 — 2000 tasks, no faults: every task ends `done`, each handler ran exactly once
 * (0 duplicate executions), each effect applied once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, pct, publish, round, type Cluster } from './support/harness';

const TASKS = 2000;
let c: Cluster;

before(async () => {
  c = await createCluster();
  await c.startApi();
  await Promise.all([c.startWorker(), c.startWorker()]);
});
after(() => c?.close());

test('scenario 1: 2000 tasks without faults all finish once', async (t) => {
  const t0 = performance.now();
  const load = await c.load({ count: TASKS, body: () => ({ type: 'test.record', payload: { mode: 'record' } }), concurrency: 16, maxMs: 60_000 });
  assert.equal(load.accepted.length, TASKS, `every request got 202 (rejected: ${JSON.stringify(load.rejected)})`);
  const drain = await c.waitTerminal(load.accepted, 90_000);
  const r = await c.report('1-no-faults', load.accepted, {
    extra: {
      submitSeconds: round(load.seconds),
      submitRatePerSecond: round(TASKS / load.seconds),
      submitLatencyP99Ms: pct(load.results.map((x) => x.ms), 99),
      drainAfterSubmitSeconds: round(drain),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, TASKS, 'all done');
  assert.equal(r.executions, TASKS, 'exactly one execution per task');
  assert.equal(r.duplicateExecutions, 0);
});
