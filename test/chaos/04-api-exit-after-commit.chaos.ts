/**
 * Scenario 4 — the API process dies between committing a task and publishing its message
 * (FAULT_INJECTION=api-exit-after-commit: exit code 70 right after the commit). The client sees the
 * connection drop, the supervisor restarts the API, and the client retries with the same
 * Idempotency-Key, which replays the original 202 (the replay path does not publish, so the fault
 * does not fire again). Criterion: every committed task runs, published by the worker's sweeper.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/infra';
import { assertNoLossNoDuplicateEffect, createCluster, pct, publish, round, type Cluster, type Proc } from './support/harness';

const REQUESTS = 10;
let c: Cluster;
let api: Proc;

before(async () => {
  c = await createCluster({ SWEEP_UNCONFIRMED_AFTER_MS: '500' });
  api = await c.startApi({ FAULT_INJECTION: 'api-exit-after-commit' }, { supervise: true });
  await c.startWorker();
});
after(() => c?.close());

const ready = () =>
  waitFor('api ready again', async () => (await fetch(`${c.base}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))?.status === 200, 30_000, 100);

test('scenario 4: API killed between commit and publish', async (t) => {
  const t0 = performance.now();
  const ids: string[] = [];
  const firstTry: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    await ready();
    const key = `chaos-4-${i}-${Date.now()}`;
    const body = { type: 'test.record', payload: { mode: 'record' } };
    const first = await c.submit(body, { 'Idempotency-Key': key });
    firstTry.push(first.status);
    await ready(); // supervisor restarted the API
    const retry = await c.submit(body, { 'Idempotency-Key': key });
    assert.equal(retry.status, 202, `retry with the same key is answered (${JSON.stringify(retry.body)})`);
    assert.equal(retry.headers?.get('idempotent-replayed'), 'true', 'the retry is a replay of the committed task');
    ids.push(retry.id!);
  }
  const committed = await c.t.db.raw<{ rows: { id: string }[] }>(`SELECT id FROM tasks`);
  await c.waitTerminal(ids, 30_000);
  const lat = await c.t.db.raw<{ rows: { s: number }[] }>(
    `SELECT extract(epoch FROM finished_at - created_at) AS s FROM tasks WHERE id = ANY(?::uuid[])`,
    [ids],
  );
  const apiExits = api.exits;
  const r = await c.report('4-api-exit-after-commit', ids, {
    extra: {
      requests: REQUESTS,
      firstTryStatuses: [...new Set(firstTry)],
      apiExitCodes: apiExits,
      committedRows: committed.rows.length,
      commitToDoneSecondsP50: pct(lat.rows.map((x) => Number(x.s)), 50),
      commitToDoneSecondsMax: pct(lat.rows.map((x) => Number(x.s)), 100),
      sweeperPublished: c.logs().filter((l) => l.msg === 'sweeper published due tasks').reduce((n, l) => n + Number(l.unconfirmed ?? 0), 0),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assert.deepEqual([...new Set(firstTry)], [0], 'the first try never got a response (the API died after the commit)');
  assert.equal(apiExits.length, REQUESTS, 'the API exited once per request');
  assert.ok(apiExits.every((x) => x === 70), `exit code 70 each time (${apiExits.join(',')})`);
  assert.equal(committed.rows.length, REQUESTS, 'one committed row per request, none doubled by the retry');
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, REQUESTS, 'every committed task ran');
  assert.equal(r.executions, REQUESTS, 'once each');
  assert.ok(Number(r.sweeperPublished) >= REQUESTS, 'the sweeper published them');
});
