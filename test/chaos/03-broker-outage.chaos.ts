/**
 * Scenario 3 — RabbitMQ behind the TCP fault proxy (API and workers connect through it; the test
 * talks to PostgreSQL directly). Under 50 req/s: every broker connection is cut twice, then the
 * broker is unreachable for 10 s (connections cut and new ones refused). Criterion: every task that
 * got a 202 reaches `done`; no process exits; the consumers come back (worker /ready 200, broker
 * reconnect logged, tasks submitted after the outage run).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RABBITMQ_URL } from '../support/infra';
import { startFaultProxy, viaProxy, type FaultProxy } from '../support/fault-proxy';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, sleep, type Cluster } from './support/harness';

const RATE = 50;
const LOAD_SECONDS = 26;
const OUTAGE_MS = 10_000;
let c: Cluster;
let proxy: FaultProxy;

before(async () => {
  proxy = await startFaultProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
  c = await createCluster({ RABBITMQ_URL: viaProxy(RABBITMQ_URL, proxy.port), AMQP_HEARTBEAT_SECONDS: '2', SWEEP_UNCONFIRMED_AFTER_MS: '1000' });
  await c.startApi();
  await Promise.all([c.startWorker(), c.startWorker()]);
});
after(async () => {
  await c?.close();
  await proxy?.close();
});

test('scenario 3: broker cut twice and unreachable for 10 s under 50 req/s', async (t) => {
  const t0 = performance.now();
  const loading = c.load({
    count: RATE * LOAD_SECONDS,
    ratePerSecond: RATE,
    concurrency: 16,
    maxMs: (LOAD_SECONDS + 20) * 1000,
    body: () => ({ type: 'test.record', payload: { mode: 'record', durationMs: 10 } }),
  });
  const events: Record<string, number> = {};
  const mark = (k: string) => (events[k] = round((performance.now() - t0) / 1000));
  await sleep(3_000);
  const cut1 = proxy.connections();
  proxy.cut();
  mark('cut1');
  await sleep(4_000);
  const cut2 = proxy.connections();
  proxy.cut();
  mark('cut2');
  await sleep(4_000);
  proxy.setMode('refuse');
  proxy.cut();
  mark('outageStart');
  // While the broker is unreachable the API still accepts (the row is the outbox) and reports not ready.
  await sleep(3_000);
  const apiReadyDuring = await fetch(`${c.base}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
  const workerReadyDuring = await Promise.all(
    c.workers().map((w) => fetch(`http://127.0.0.1:${w.port}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0)),
  );
  await sleep(OUTAGE_MS - 3_000);
  proxy.setMode('pass');
  const outageEndAt = Date.now();
  mark('outageEnd');
  // Consumers come back: every process ready again (broker connection, channels, consumers).
  const reconnectSeconds: Record<string, number> = {};
  const readyWatch = Promise.all(
    c.procs.map(async (w) => {
      for (let i = 0; i < 400; i++) {
        const st = await fetch(`http://127.0.0.1:${w.port}/ready`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
        if (st === 200) {
          reconnectSeconds[w.name] = round((Date.now() - outageEndAt) / 1000);
          return;
        }
        await sleep(100);
      }
    }),
  );
  const load = await loading;
  mark('loadDone');
  await readyWatch;
  const after = await c.load({ count: 20, concurrency: 4, maxMs: 20_000, body: () => ({ type: 'test.record', payload: { mode: 'record' } }) });
  const ids = [...load.accepted, ...after.accepted];
  const waited = await c.waitTerminal(ids, 60_000).catch(() => -1);
  const readyAfter = await Promise.all(
    c.procs.map((w) => fetch(`http://127.0.0.1:${w.port}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0)),
  );
  const reconnects = Object.fromEntries(
    c.procs.map((p) => [p.name, Math.max(0, ...c.logs(p).filter((l) => l.msg.startsWith('broker connected')).map((l) => Number(l.reconnects ?? 0)))]),
  );
  // Recovery: tasks accepted up to the end of the outage, from the end of the outage to done.
  const before = await c.t.db.raw<{ rows: { id: string }[] }>(`SELECT id FROM tasks WHERE id = ANY(?::uuid[]) AND created_at <= to_timestamp(? / 1000.0)`, [ids, outageEndAt]);
  const r = await c.report('3-broker-outage', ids, {
    since: outageEndAt,
    recoveryIds: before.rows.map((x) => x.id),
    extra: {
      requests: load.results.length,
      rejected: load.rejected,
      connectionsCut: [cut1, cut2],
      events,
      apiReadyDuringOutage: apiReadyDuring,
      workerReadyDuringOutage: workerReadyDuring,
      readyAfter,
      reconnects,
      readySecondsAfterOutage: reconnectSeconds,
      processExits: c.procs.flatMap((p) => p.exits),
      waitedForTerminalSeconds: round(waited),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  for (const p of c.procs) if (p.exits.length > 0) t.diagnostic(`${p.name} last logs: ${JSON.stringify(c.logs(p).slice(-8))}`);
  assert.equal(Object.keys(load.rejected).length, 0, `202 for every request, broker down or not (rejected: ${JSON.stringify(load.rejected)})`);
  assert.ok(load.accepted.length >= RATE * LOAD_SECONDS * 0.95, `the load ran (${load.accepted.length} accepted)`);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, ids.length, 'every 202 task reaches done');
  assert.equal(r.duplicateExecutions, 0);
  for (const p of c.procs) {
    assert.deepEqual(p.exits, [], `${p.name} did not exit`);
    assert.equal(p.p.child.exitCode, null, `${p.name} is still running`);
  }
  assert.deepEqual(readyAfter, c.procs.map(() => 200), 'every process ready again (consumers back)');
  assert.equal(apiReadyDuring, 503, 'API /ready reports the broker outage');
  for (const p of c.procs) assert.ok(reconnects[p.name]! >= 3, `${p.name} reconnected after each cut and the outage`);
  assert.equal(after.accepted.length, 20);
});
