/**
 * MAX_PENDING_PER_CLIENT against two real API processes on one database, with no worker, so every
 * accepted task stays pending: concurrent submissions of one client, spread over both processes,
 * never leave more than the cap pending; and a replay of an accepted request (same Idempotency-Key,
 * same body) is answered with its original 202 even when the client is at the cap.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from '../support/infra';
import { createKey } from '../support/keys';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

const CAP = 5;

describe('pending-per-client cap', () => {
  let t: TestEnv;
  const apis: ServiceProcess[] = [];
  const bases: string[] = [];

  before(async () => {
    t = await createTestEnv({ AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '60000', MAX_PENDING_PER_CLIENT: String(CAP) });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      apis.push(await startReady('api', { ...t.env, PORT: String(port) }, port));
      bases.push(`http://127.0.0.1:${port}`);
    }
  });
  after(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await t?.cleanup();
  });

  const submit = (base: string, key: string, payload: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ payload }),
    });
  const pendingOf = async (client: string) =>
    Number((await t.db('tasks').where({ client_id: client, status: 'pending' }).count<{ n: string }[]>('* as n'))[0]!.n);

  it('never leaves more than the cap pending under concurrent submissions from both API processes', async () => {
    const key = await createKey(t.env, 'concurrent');
    // Warm each process's key cache first, so the submissions below race on the cap, not on auth.
    for (const base of bases) assert.equal((await fetch(`${base}/tasks?limit=1`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => submit(bases[i % 2]!, key, { n: i })));
    const statuses = responses.map((r) => r.status);
    const accepted = statuses.filter((s) => s === 202).length;
    const refused = responses.filter((r) => r.status === 429);
    assert.deepEqual([...new Set(statuses)].sort(), [202, 429], `only 202 and 429 (${statuses.join(',')})`);
    const pending = await pendingOf('concurrent');
    assert.ok(pending <= CAP, `${pending} tasks pending with a cap of ${CAP} (${accepted} accepted)`);
    assert.equal(accepted, pending, 'every 202 is a pending row');
    assert.equal(accepted, CAP, 'the cap is reached, not undershot');
    const body = (await refused[0]!.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'too_many_pending');
    assert.match(refused[0]!.headers.get('retry-after') ?? '', /^\d+$/);
  });

  it('answers a replay at the cap with the original 202, not 429', async () => {
    const key = await createKey(t.env, 'replayer');
    const idem = `idem-${randomUUID()}`;
    const first = await submit(bases[0]!, key, { n: 0 }, { 'idempotency-key': idem });
    assert.equal(first.status, 202);
    const original = (await first.json()) as { task_id: string };
    for (let i = 1; i < CAP; i++) assert.equal((await submit(bases[0]!, key, { n: i })).status, 202);
    assert.equal((await submit(bases[0]!, key, { n: 'over' })).status, 429, 'the client is at its cap');

    for (const base of bases) {
      const replay = await submit(base, key, { n: 0 }, { 'idempotency-key': idem });
      const text = await replay.text();
      assert.equal(replay.status, 202, `replay through ${base}: ${replay.status} ${text}`);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal((JSON.parse(text) as { task_id: string }).task_id, original.task_id);
    }
    // A different body under the same key is still the client's mistake (422), not the cap's 429.
    const reused = await submit(bases[1]!, key, { n: 'different' }, { 'idempotency-key': idem });
    assert.equal(reused.status, 422);
    assert.equal(((await reused.json()) as { error: { code: string } }).error.code, 'idempotency_key_reused');
    assert.equal(await pendingOf('replayer'), CAP);
  });
});
