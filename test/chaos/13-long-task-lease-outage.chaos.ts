/**
 * Scenario 13 — tasks six times longer than the lease, on a worker whose database link is cut for
 * longer than the lease (issue 12, item 1). Worker A (PostgreSQL behind the fault proxy) runs the
 * task; worker B (direct link, consuming only `simulate`) reaps the expired lease and republishes
 * it, and A — the only consumer of the test queue — re-claims it once the link is back while its
 * stale attempt still runs. Criterion: the re-claimed attempt keeps its lease (running attempts are
 * keyed by task id and lease token), the stale one is abandoned, and the task ends `done` in its
 * second attempt: lost / duplicate executions / duplicate effects = 0 / 0 / 0, no process exits.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFaultProxy, viaProxy, type FaultProxy } from '../support/fault-proxy';
import { ADMIN_DATABASE_URL, waitFor } from '../support/infra';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, sleep, type Cluster } from './support/harness';

const LEASE_MS = 2_000;
// Long enough that the re-claim (after the claimer's backoff) happens while the stale attempt still runs.
const TASK_MS = 6 * LEASE_MS;
const OUTAGE_MS = LEASE_MS + 1_500;
let c: Cluster;
let proxy: FaultProxy;

before(async () => {
  const pg = new URL(ADMIN_DATABASE_URL);
  proxy = await startFaultProxy('127.0.0.1', Number(pg.port || 5432));
  c = await createCluster({ LEASE_MS: String(LEASE_MS), HEARTBEAT_MS: '500', REAP_INTERVAL_MS: '300', DB_CONNECT_TIMEOUT_MS: '1000' });
  await c.startApi();
  await c.startWorker({ DATABASE_URL: viaProxy(c.t.databaseUrl, proxy.port), WORKER_TASK_TYPES: 'test.record' }, { name: 'worker-a' });
  await c.startWorker({ WORKER_TASK_TYPES: 'simulate' }, { name: 'worker-b-reaper' });
});
after(async () => {
  await c?.close();
  await proxy?.close();
});

const TASKS = 6;

test('scenario 13: long tasks survive a database outage longer than their lease', async (t) => {
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const submitted = await c.submit({ type: 'test.record', payload: { mode: 'sleep', durationMs: TASK_MS }, timeout_ms: 60_000 });
    assert.equal(submitted.status, 202);
    ids.push(submitted.id!);
  }
  const statuses = async () => Promise.all(ids.map((id) => c.getTask(id)));
  await waitFor('the tasks running on worker A', async () => (await statuses()).every((v) => v.status === 'processing'), 10_000);
  await sleep(500);
  proxy.setMode('refuse');
  proxy.cut();
  await waitFor('the reaper recovering the expired leases', async () => (await statuses()).every((v) => v.errors.some((e) => e.reason === 'crashed')), OUTAGE_MS + 5_000);
  const remaining = OUTAGE_MS - (Date.now() - t0);
  if (remaining > 0) await sleep(remaining);
  proxy.setMode('pass');
  const outageEndAt = Date.now();
  await c.waitTerminal(ids, 4 * TASK_MS, 'the long tasks').catch(() => undefined);
  const views = await statuses();
  const r = await c.report('13-long-task-lease-outage', ids, {
    since: outageEndAt,
    extra: {
      leaseMs: LEASE_MS,
      taskMs: TASK_MS,
      outageMs: OUTAGE_MS,
      finalStatuses: views.map((v) => v.status),
      attempts: views.map((v) => v.attempts),
      errorReasons: views.map((v) => v.errors.map((e) => e.reason).join('+')),
      processExits: c.procs.flatMap((p) => p.exits),
      durationSeconds: round((Date.now() - t0) / 1000),
    },
  });
  publish(t, r);
  for (const v of views) {
    assert.equal(v.status, 'done', `task ${v.task_id} ended ${v.status} after ${v.attempts} attempts (${v.errors.map((e) => e.reason).join(', ')})`);
    assert.equal(v.attempts, 2, 'one recovery, one re-claim: two attempts');
  }
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.duplicateExecutions, 0);
  for (const p of c.procs) assert.deepEqual(p.exits, [], `${p.name} did not exit`);
});
