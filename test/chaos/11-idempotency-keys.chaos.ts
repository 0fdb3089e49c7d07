/**
 * Scenario 11 — the Idempotency-Key matrix on POST /tasks: same key + same body → the original 202
 * replayed with `Idempotent-Replayed: true` (also with the payload's keys in another order); same key
 * + different body → 422 idempotency_key_reused; invalid keys → 400 and nothing stored; no key or
 * different keys → separate tasks; an expired key (IDEMPOTENCY_TTL_MS=4000 here) → a new task;
 * 50 concurrent identical requests → exactly one task (the others wait on the key's row and get the replay), run once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, sleep, type Cluster } from './support/harness';

const TTL_MS = 4_000;
let c: Cluster;

before(async () => {
  c = await createCluster({ IDEMPOTENCY_TTL_MS: String(TTL_MS) });
  await c.startApi();
  await c.startWorker();
});
after(() => c?.close());

const countRows = async () => Number((await c.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks`)).rows[0]?.n);
const key = (name: string) => `chaos-11-${name}-${Date.now()}`;

test('scenario 11: Idempotency-Key matrix', async (t) => {
  const t0 = performance.now();
  const ids: string[] = [];
  const matrix: Record<string, string> = {};
  const body = { type: 'test.record', payload: { mode: 'record', durationMs: 1, delayMs: 5 } };

  // same key, same body → replay
  const k1 = key('same');
  const a = await c.submit(body, { 'Idempotency-Key': k1 });
  const b = await c.submit(body, { 'Idempotency-Key': k1 });
  const b2 = await c.submit({ payload: { delayMs: 5, durationMs: 1, mode: 'record' }, type: 'test.record' }, { 'Idempotency-Key': k1 });
  assert.equal(a.status, 202);
  assert.equal(a.headers?.get('idempotent-replayed'), null, 'the first response is not a replay');
  for (const x of [b, b2]) {
    assert.equal(x.status, 202);
    assert.equal(x.headers?.get('idempotent-replayed'), 'true');
    assert.equal(x.id, a.id, 'same task id replayed');
    assert.deepEqual(x.body, a.body, 'the original response body');
  }
  ids.push(a.id!);
  matrix.sameKeySameBody = `${a.status} then ${b.status}+replayed, reordered keys ${b2.status}+replayed`;

  // same key, different body → 422
  const c422 = await c.submit({ type: 'test.record', payload: { mode: 'record', durationMs: 2, delayMs: 5 } }, { 'Idempotency-Key': k1 });
  assert.equal(c422.status, 422);
  assert.equal((c422.body as { error: { code: string } }).error.code, 'idempotency_key_reused');
  const d422 = await c.submit({ ...body, timeout_ms: 3_000 }, { 'Idempotency-Key': k1 });
  assert.equal(d422.status, 422, 'timeout_ms is part of the request');
  matrix.sameKeyDifferentBody = `${c422.status} ${(c422.body as { error: { code: string } }).error.code}`;

  // invalid keys → 400, nothing stored
  const before400 = await countRows();
  for (const bad of ['', 'x'.repeat(256), 'has space', 'tab\there']) {
    const x = await c.submit(body, { 'Idempotency-Key': bad });
    assert.equal(x.status, 400, `key ${JSON.stringify(bad.slice(0, 20))} rejected`);
    assert.equal((x.body as { error: { code: string } }).error.code, 'invalid_idempotency_key');
  }
  assert.equal(await countRows(), before400, 'nothing stored for a rejected key');
  matrix.invalidKey = '400 invalid_idempotency_key (empty, 256 chars, space, tab); no row';

  // no key, different keys → separate tasks
  const n1 = await c.submit(body);
  const n2 = await c.submit(body);
  const d1 = await c.submit(body, { 'Idempotency-Key': key('d1') });
  const d2 = await c.submit(body, { 'Idempotency-Key': key('d2') });
  const separate = [n1, n2, d1, d2].map((x) => x.id!);
  assert.equal(new Set(separate).size, 4, 'four different tasks');
  ids.push(...separate);
  matrix.noKeyOrDifferentKeys = 'separate tasks';

  // 50 concurrent identical requests → exactly one task
  const k50 = key('concurrent');
  const before50 = await countRows();
  const burst = await Promise.all(Array.from({ length: 50 }, () => c.submit(body, { 'Idempotency-Key': k50 })));
  const statuses: Record<string, number> = {};
  for (const x of burst) statuses[`${x.status}${x.headers?.get('idempotent-replayed') ? '+replayed' : ''}`] = (statuses[`${x.status}${x.headers?.get('idempotent-replayed') ? '+replayed' : ''}`] ?? 0) + 1;
  const burstIds = new Set(burst.filter((x) => x.status === 202).map((x) => x.id));
  assert.ok(burst.every((x) => x.status === 202), `only 202 (${JSON.stringify(statuses)})`);
  assert.equal(burstIds.size, 1, 'every 202 names the same task');
  assert.equal(burst.filter((x) => x.status === 202 && !x.headers?.get('idempotent-replayed')).length, 1, 'exactly one original response');
  assert.equal((await countRows()) - before50, 1, 'exactly one task stored');
  ids.push([...burstIds][0]!);
  matrix.concurrent50 = JSON.stringify(statuses);

  // expired key → a new task
  const kx = key('expiry');
  const e1 = await c.submit(body, { 'Idempotency-Key': kx });
  await sleep(TTL_MS + 500);
  const e2 = await c.submit(body, { 'Idempotency-Key': kx });
  assert.equal(e2.status, 202);
  assert.equal(e2.headers?.get('idempotent-replayed'), null);
  assert.notEqual(e2.id, e1.id, 'after the TTL the key starts a new task');
  ids.push(e1.id!, e2.id!);
  matrix.expiredKey = 'new task after TTL';

  await c.waitTerminal(ids, 20_000);
  const r = await c.report('11-idempotency-keys', ids, { extra: { matrix, durationSeconds: round((performance.now() - t0) / 1000) } });
  publish(t, r);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, ids.length);
  assert.equal(r.executions, ids.length, 'each task (the 50-request one included) ran once');
  assert.equal(r.duplicateExecutions, 0);
});
