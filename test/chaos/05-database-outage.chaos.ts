/**
 * Scenario 5 — PostgreSQL behind the TCP fault proxy for the API and the workers (the test reads
 * the database directly). Under 20 req/s the database becomes unreachable for 10 s (every
 * connection cut, new ones refused). Criterion: the API answers 503 JSON with Retry-After quickly —
 * never later than DB_CONNECT_TIMEOUT_MS + the pool's acquire margin (1 s) + 1 s — and `/ready` says
 * 503 during the outage and 200 after; every 202 task reaches a terminal state (lost 0); no process exits.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_DATABASE_URL } from '../support/infra';
import { startFaultProxy, viaProxy, type FaultProxy } from '../support/fault-proxy';
import { assertNoLossNoDuplicateEffect, createCluster, pct, publish, round, sleep, type Cluster } from './support/harness';

const OUTAGE_MS = 10_000;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RESPONSE_MS = CONNECT_TIMEOUT_MS + 1_000 + 1_000;
let c: Cluster;
let proxy: FaultProxy;

before(async () => {
  const pg = new URL(ADMIN_DATABASE_URL);
  proxy = await startFaultProxy('127.0.0.1', Number(pg.port || 5432));
  c = await createCluster({ DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) });
  const env = { DATABASE_URL: viaProxy(c.t.databaseUrl, proxy.port) };
  await c.startApi(env);
  await Promise.all([c.startWorker(env), c.startWorker(env)]);
});
after(async () => {
  await c?.close();
  await proxy?.close();
});

test('scenario 5: database unreachable for 10 s', async (t) => {
  const t0 = performance.now();
  const sinceStart = () => round((performance.now() - t0) / 1000);
  // /ready sampled every 250 ms (bounded) for the whole scenario.
  const readiness: { at: number; status: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; i < 400 && sampling; i++) {
      const status = await fetch(`${c.base}/ready`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
      readiness.push({ at: sinceStart(), status });
      await sleep(250);
    }
  })();
  const loading = c.load({
    count: 20 * 24,
    ratePerSecond: 20,
    concurrency: 24,
    maxMs: 40_000,
    requestTimeoutMs: 20_000,
    body: () => ({ type: 'test.record', payload: { mode: 'record', durationMs: 100 } }),
  });
  await sleep(4_000);
  proxy.setMode('refuse');
  proxy.cut();
  const outageStart = sinceStart();
  const outageStartMs = performance.now();
  await sleep(OUTAGE_MS);
  proxy.setMode('pass');
  const outageEndAt = Date.now();
  const outageEnd = sinceStart();
  const load = await loading;
  // /ready must come back: wait (bounded) for a 200 after the outage.
  for (let i = 0; i < 120 && !readiness.some((s) => s.at > outageEnd && s.status === 200); i++) await sleep(250);
  sampling = false;
  await sampler;

  const during = load.results.filter((_, i) => {
    const sentAt = (i * 1000) / 20; // paced: request i was due at i/20 s
    return sentAt >= outageStartMs - t0 && sentAt < outageStartMs - t0 + OUTAGE_MS;
  });
  const unavailable = load.results.filter((x) => x.status === 503);
  const badShape = unavailable.filter(
    (x) => !(x.headers?.get('retry-after') && (x.body as { error?: { code?: string } })?.error?.code === 'service_unavailable'),
  );
  const others = load.results.filter((x) => x.status !== 202 && x.status !== 503);
  const ids = load.accepted;
  const waited = await c.waitTerminal(ids, 60_000).catch(() => -1);
  const readyDown = readiness.filter((s) => s.at > outageStart && s.at < outageEnd && s.status === 503).length;
  const firstReadyAfter = readiness.find((s) => s.at > outageEnd && s.status === 200);
  const rows = await c.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks`);
  // Recovery: tasks accepted up to the end of the outage, from the end of the outage to their terminal state.
  const before = await c.t.db.raw<{ rows: { id: string }[] }>(`SELECT id FROM tasks WHERE id = ANY(?::uuid[]) AND created_at <= to_timestamp(? / 1000.0)`, [ids, outageEndAt]);
  const r = await c.report('5-database-outage', ids, {
    since: outageEndAt,
    recoveryIds: before.rows.map((x) => x.id),
    extra: {
      requests: load.results.length,
      accepted202: ids.length,
      answered503: unavailable.length,
      otherStatuses: others.map((x) => x.status),
      responseMsMax: pct(load.results.map((x) => x.ms), 100),
      responseMsDuringOutageP50: pct(during.map((x) => x.ms), 50),
      responseMsDuringOutageMax: pct(during.map((x) => x.ms), 100),
      limitMs: MAX_RESPONSE_MS,
      readyWasDown503Samples: readyDown,
      readySecondsAfterOutage: firstReadyAfter ? round(firstReadyAfter.at - outageEnd) : null,
      rowsWithout202: Number(rows.rows[0]?.n) - ids.length,
      processExits: c.procs.flatMap((p) => p.exits),
      waitedForTerminalSeconds: round(waited),
      durationSeconds: sinceStart(),
    },
  });
  publish(t, r);
  assert.ok(unavailable.length > 0, 'requests during the outage were answered 503');
  assert.equal(badShape.length, 0, '503 answers are JSON {error:{code:"service_unavailable"}} with Retry-After');
  assert.deepEqual(others.map((x) => x.status), [], 'no other status (no 500, no hang, no reset)');
  assert.ok(Number(r.responseMsMax) <= MAX_RESPONSE_MS, `no response slower than ${MAX_RESPONSE_MS} ms (max ${String(r.responseMsMax)})`);
  assert.ok(readyDown > 0, '/ready answered 503 during the outage');
  assert.ok(firstReadyAfter, '/ready answered 200 after the outage');
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.duplicateExecutions, 0);
  for (const p of c.procs) assert.deepEqual(p.exits, [], `${p.name} did not exit`);
});
