/**
 * Rate limits on real API processes with AUTH_MODE=required: requests that fail authentication
 * are limited per source address before their credentials are checked (429 JSON with
 * Retry-After, not an unlimited stream of 401s and key lookups), and one client's limit is
 * shared by every API process on the same database (GCRA state in PostgreSQL), not multiplied.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from '../support/infra';
import { createKey } from '../support/keys';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

const RATE = 1;
const BURST = 5;

describe('rate limits', () => {
  let t: TestEnv;
  const apis: ServiceProcess[] = [];
  /**
   * [shared A, shared B, flood target trusting one proxy hop, flood target trusting none]: the
   * floods get their own processes, so their address limits stay away from the shared-limit test.
   */
  const bases: string[] = [];

  before(async () => {
    t = await createTestEnv({
      AUTH_MODE: 'required',
      AUTH_KEY_CACHE_MS: '60000',
      RATE_LIMIT_PER_SECOND: String(RATE),
      RATE_LIMIT_BURST: String(BURST),
    });
    const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
    const proxyHops = ['0', '0', '1', '0'];
    apis.push(
      ...(await Promise.all(ports.map((p, i) => startReady('api', { ...t.env, PORT: String(p), HTTP_TRUSTED_PROXY_HOPS: proxyHops[i]! }, p)))),
    );
    bases.push(...ports.map((p) => `http://127.0.0.1:${p}`));
  });
  after(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await t?.cleanup();
  });

  /** Sends `n` requests at once; returns the statuses, one 429 response (if any) and the seconds it took. */
  async function flood(n: number, send: (i: number) => Promise<Response>) {
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
    const elapsedS = (Date.now() - started) / 1000;
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const limited = responses.findIndex((r) => r.status === 429);
    return {
      statuses: responses.map((r) => r.status),
      limited: limited < 0 ? undefined : { res: responses[limited]!, body: bodies[limited]! },
      elapsedS,
    };
  }
  /** The most a GCRA limit lets through in `elapsedS`: the burst plus what refilled meanwhile. */
  const allowance = (elapsedS: number) => BURST + Math.ceil(RATE * elapsedS) + 1;

  // Behind a trusted proxy the caller's address comes from X-Forwarded-For: each case floods from
  // its own address, and an address that did not fail keeps being served.
  for (const [name, authorization, address] of [
    ['no credentials', undefined, '198.51.100.1'],
    ['a well-formed but unknown API key', `Bearer tsk_0123456789ab_${'A'.repeat(43)}`, '198.51.100.2'],
  ] as const) {
    it(`limits a flood with ${name} per source address: 429 JSON with Retry-After after the burst`, async () => {
      const { statuses, limited, elapsedS } = await flood(40, () =>
        fetch(`${bases[2]}/tasks?limit=1`, { headers: { 'x-forwarded-for': address, ...(authorization ? { authorization } : {}) } }),
      );
      const unauthorized = statuses.filter((s) => s === 401).length;
      assert.deepEqual([...new Set(statuses)].sort(), [401, 429], `only 401 and 429: ${statuses.join(',')}`);
      assert.ok(unauthorized <= allowance(elapsedS), `${unauthorized} requests were authenticated in ${elapsedS.toFixed(1)} s`);
      assert.ok(limited, 'some were limited');
      assert.match(limited.res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.match(limited.res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal((JSON.parse(limited.body) as { error: { code: string } }).error.code, 'rate_limited');
    });
  }

  it('serves an address that did not fail while another is limited', async () => {
    const key = await createKey(t.env, 'bystander');
    // The bystander's request goes out while the flood from another address is being refused.
    const [{ statuses }, bystander] = await Promise.all([
      flood(40, () => fetch(`${bases[2]}/tasks?limit=1`, { headers: { 'x-forwarded-for': '198.51.100.4' } })),
      new Promise((r) => setTimeout(r, 20)).then(() =>
        fetch(`${bases[2]}/tasks?limit=1`, { headers: { 'x-forwarded-for': '198.51.100.3', authorization: `Bearer ${key}` } }),
      ),
    ]);
    assert.ok(statuses.includes(429), 'the flooding address is limited');
    assert.equal(bystander.status, 200, 'another address is served meanwhile');
  });

  it('ignores X-Forwarded-For when no proxy is trusted, so a new header per request does not escape the limit', async () => {
    const { statuses } = await flood(40, (i) => fetch(`${bases[3]}/tasks?limit=1`, { headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } }));
    assert.ok(statuses.includes(429), `limited despite a new X-Forwarded-For on every request: ${statuses.join(',')}`);
  });

  it("shares one client's limit between two API processes on the same database", async () => {
    const key = await createKey(t.env, 'shared');
    // One request after another, alternating between the two processes, so each process serves
    // half of whatever passes: separate limits would let 2 × BURST through, one shared limit BURST.
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < 4 * BURST; i++) {
      const r = await fetch(`${bases[i % 2]}/tasks?limit=1`, { headers: { authorization: `Bearer ${key}` } });
      await r.arrayBuffer();
      statuses.push(r.status);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const passed = statuses.filter((s) => s === 200).length;
    assert.deepEqual([...new Set(statuses)].sort(), [200, 429], statuses.join(','));
    assert.ok(passed >= BURST, `the burst was allowed (${passed})`);
    assert.ok(passed <= allowance(elapsedS), `${passed} passed through two processes in ${elapsedS.toFixed(1)} s (burst ${BURST}, one shared limit)`);
    for (const i of [0, 1]) {
      assert.ok(statuses.some((s, j) => j % 2 === i && s === 200), `process ${i} served some`);
      assert.ok(statuses.some((s, j) => j % 2 === i && s === 429), `process ${i} limited some`);
    }
  });
});
