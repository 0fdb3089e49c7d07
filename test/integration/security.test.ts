/**
 * Authentication, ownership and limits against a real API process with AUTH_MODE=required:
 * the auth matrix (API keys and JWTs), per-client isolation, rate limits, pending caps and
 * oversized bodies.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createTestEnv, type TestEnv } from '../support/infra';
import { createKey, keysCli } from '../support/keys';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('security', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let base: string;
  let keyA: string;
  let keyB: string;
  let adminKey: string;
  const extra: ServiceProcess[] = [];

  before(async () => {
    const port = await freePort();
    t = await createTestEnv({
      PORT: String(port),
      AUTH_MODE: 'required',
      AUTH_KEY_CACHE_MS: '0',
      AUTH_JWT_PUBLIC_KEY: PUBLIC_PEM,
      AUTH_JWT_ALGORITHMS: 'RS256',
      AUTH_JWT_ISSUER: 'https://issuer.test',
      AUTH_JWT_AUDIENCE: 'tasker',
    });
    [keyA, keyB, adminKey] = await Promise.all([createKey(t.env, 'client-a'), createKey(t.env, 'client-b'), createKey(t.env, 'ops', true)]);
    api = await startReady('api', t.env, port);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all([api?.stop(), ...extra.map((p) => p.stop())]);
    await t?.cleanup();
  });

  const call = (path: string, init: RequestInit & { auth?: string } = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { ...(init.auth ? { authorization: init.auth } : {}), ...(init.headers as Record<string, string>) },
    });
  const submit = (auth: string, payload: unknown = { durationMs: 0 }, headers: Record<string, string> = {}) =>
    call('/tasks', { method: 'POST', auth, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ payload }) });
  const jwt = (claims: Record<string, unknown>, opts: { exp?: string | number; alg?: string; key?: Parameters<SignJWT['sign']>[0] } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: opts.alg ?? 'RS256' })
      .setIssuer('https://issuer.test')
      .setAudience('tasker')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? privateKey);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  describe('authentication matrix', () => {
    it('accepts a valid API key and a valid JWT', async () => {
      assert.equal((await submit(`Bearer ${keyA}`)).status, 202);
      assert.equal((await submit(`Bearer ${await jwt({ sub: 'client-jwt' })}`)).status, 202);
    });

    const unauthorized: [string, () => Promise<string | undefined>][] = [
      ['no credentials', () => Promise.resolve(undefined)],
      ['a malformed header', () => Promise.resolve('Basic dXNlcjpwYXNz')],
      ['an empty bearer', () => Promise.resolve('Bearer ')],
      ['an unknown key', () => Promise.resolve(`Bearer tsk_0123456789ab_${'A'.repeat(43)}`)],
      ['an expired JWT', () => jwt({ sub: 'x' }, { exp: Math.floor(Date.now() / 1000) - 60 }).then((j) => `Bearer ${j}`)],
      ['a JWT signed by another key', async () => {
        const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
        return `Bearer ${await jwt({ sub: 'x' }, { key: other })}`;
      }],
      ['alg: none', () => Promise.resolve(`Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: 'https://issuer.test', aud: 'tasker', exp: Math.floor(Date.now() / 1000) + 300 })}.`)],
      ['HMAC signed with the RSA public key (algorithm confusion)', () =>
        jwt({ sub: 'x' }, { alg: 'HS256', key: new TextEncoder().encode(PUBLIC_PEM) }).then((j) => `Bearer ${j}`)],
      ['a JWT for another audience', async () => {
        const j = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://issuer.test').setAudience('other').setExpirationTime('5m').sign(privateKey);
        return `Bearer ${j}`;
      }],
    ];
    for (const [name, auth] of unauthorized) {
      it(`answers 401 JSON for ${name}, and stores nothing`, async () => {
        const before = await t.db('tasks').count<{ n: string }[]>('* as n');
        const res = await submit((await auth()) ?? '');
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unauthorized');
        const afterCount = await t.db('tasks').count<{ n: string }[]>('* as n');
        assert.equal(afterCount[0]!.n, before[0]!.n);
      });
    }

    it('rejects a key after it is revoked', async () => {
      const key = await createKey(t.env, 'short-lived');
      assert.equal((await submit(`Bearer ${key}`)).status, 202);
      const prefix = key.split('_')[1]!;
      await keysCli(t.env, 'revoke', prefix);
      assert.equal((await submit(`Bearer ${key}`)).status, 401);
      const listed = (await keysCli(t.env, 'list')).stdout;
      assert.match(listed, new RegExp(`short-lived\\ttsk_${prefix}_…\\t-\\t\\S+\\t\\d{4}-`), 'list shows it revoked');
      assert.ok(!listed.includes(key), 'list never shows the secret');
    });

    it('stores only a hash of the key', async () => {
      const rows = await t.db.raw<{ rows: { key_hash: Buffer }[] }>(`SELECT key_hash FROM api_keys`);
      for (const r of rows.rows) {
        assert.equal(r.key_hash.length, 32);
        assert.ok(!r.key_hash.toString('utf8').includes('tsk_'));
      }
    });

    it('leaves health, readiness and metrics open', async () => {
      for (const p of ['/health', '/ready', '/metrics']) assert.equal((await call(p)).status, 200, p);
    });
  });

  describe('ownership', () => {
    it("answers 404 for another client's tasks, everywhere, and lists only the caller's", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await submit(`Bearer ${keyA}`);
        assert.equal(r.status, 202);
        ids.push(((await r.json()) as { task_id: string }).task_id);
      }
      for (const id of ids) {
        assert.equal((await call(`/tasks/${id}`, { auth: `Bearer ${keyB}` })).status, 404);
        assert.equal((await call(`/tasks/${id}/cancel`, { method: 'POST', auth: `Bearer ${keyB}` })).status, 404);
        assert.equal((await call(`/tasks/${id}/retry`, { method: 'POST', auth: `Bearer ${keyB}` })).status, 404);
      }
      const listB = (await (await call('/tasks?limit=100', { auth: `Bearer ${keyB}` })).json()) as { tasks: { task_id: string }[] };
      assert.ok(listB.tasks.every((x) => !ids.includes(x.task_id)));
      const listA = (await (await call('/tasks?limit=100', { auth: `Bearer ${keyA}` })).json()) as { tasks: { task_id: string }[] };
      assert.equal(listA.tasks.length, 100);
      assert.equal((await call(`/tasks/${ids[0]}`, { auth: `Bearer ${keyA}` })).status, 200);
      assert.equal((await call(`/tasks/${ids[0]}`, { auth: `Bearer ${adminKey}` })).status, 200, 'an admin key sees every task');
    });

    it('finds nothing with 10 000 random ids', async () => {
      let hits = 0;
      for (let i = 0; i < 10_000; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: 50 }, () => call(`/tasks/${randomUUID()}`, { auth: `Bearer ${keyB}` }).then((r) => r.status)),
        );
        hits += batch.filter((s) => s !== 404).length;
      }
      assert.equal(hits, 0);
    });

    it('scopes Idempotency-Key per client', async () => {
      const key = `idem-${randomUUID()}`;
      const a = await submit(`Bearer ${keyA}`, { n: 1 }, { 'idempotency-key': key });
      const b = await submit(`Bearer ${keyB}`, { n: 1 }, { 'idempotency-key': key });
      assert.equal(a.status, 202);
      assert.equal(b.status, 202);
      assert.equal(b.headers.get('idempotent-replayed'), null);
      assert.notEqual(((await a.json()) as { task_id: string }).task_id, ((await b.json()) as { task_id: string }).task_id);
    });
  });

  describe('limits', () => {
    /** More API processes of the same installation: one with a rate limit, one with a pending cap. */
    let limitedBase: string;
    let cappedBase: string;
    before(async () => {
      const [p1, p2] = [await freePort(), await freePort()];
      const [limited, capped] = await Promise.all([
        startReady('api', { ...t.env, PORT: String(p1), RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '10' }, p1),
        startReady('api', { ...t.env, PORT: String(p2), MAX_PENDING_PER_CLIENT: '150' }, p2),
      ]);
      extra.push(limited, capped);
      limitedBase = `http://127.0.0.1:${p1}`;
      cappedBase = `http://127.0.0.1:${p2}`;
    });
    const limitedCall = (path: string, auth: string, init: RequestInit = {}, base = limitedBase) =>
      fetch(`${base}${path}`, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string>) } });

    it('answers 413 to an endless body while it is still being sent (the limit is enforced while reading)', async () => {
      // A body without Content-Length that never ends: a server that buffered a body before
      // checking its size would never answer it. RSS growth was the earlier proxy for this and
      // flaked (allocator arenas grow by tens of MB on their own); the endless body is exact.
      const cap = 256 * 1024 * 1024;
      const { status, code, sent } = await new Promise<{ status: number; code: string; sent: number }>((resolve, reject) => {
        const req = httpRequest(`${base}/tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        });
        let sent = 0;
        let answered = false;
        const chunk = Buffer.alloc(64 * 1024, 'x');
        const pump = () => {
          while (!answered && sent < cap) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!answered) reject(new Error(`no answer after ${sent} bytes: the body is being buffered whole`));
        };
        req.on('response', (res) => {
          answered = true;
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(parts).toString()) as { error: { code: string } }).error.code, sent });
          });
        });
        req.on('error', (err) => (answered ? undefined : reject(err)));
        req.write('{"payload":"');
        pump();
      });
      assert.equal(status, 413);
      assert.equal(code, 'payload_too_large');
      assert.ok(sent < cap, `answered after ${sent} bytes`);
    });

    it('rejects JSON nested deeper than the limit', async () => {
      const res = await call('/tasks', {
        method: 'POST',
        auth: `Bearer ${keyA}`,
        headers: { 'content-type': 'application/json' },
        body: `{"payload":${'['.repeat(100)}${']'.repeat(100)}}`,
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'json_too_deep');
    });

    it('limits a client over its rate with 429 and Retry-After, leaving other clients alone', async () => {
      const flood = await createKey(t.env, 'flood');
      // 2 requests/s with a burst of 10: of 40 requests sent at once, at most 10 + 2/s of elapsed
      // time pass, however slow this machine is today.
      const started = Date.now();
      const statuses = await Promise.all(Array.from({ length: 40 }, () => limitedCall('/tasks?limit=1', `Bearer ${flood}`)));
      const elapsedS = (Date.now() - started) / 1000;
      const limited = statuses.filter((r) => r.status === 429);
      const passed = statuses.filter((r) => r.status === 200).length;
      assert.ok(passed >= 10, `the burst was allowed (${passed})`);
      assert.ok(passed <= 10 + Math.ceil(2 * elapsedS) + 1, `${passed} passed in ${elapsedS.toFixed(1)} s`);
      assert.ok(limited.length > 0, 'some requests were limited');
      assert.match(limited[0]!.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal((await limitedCall('/tasks?limit=1', `Bearer ${keyB}`)).status, 200, 'another client is unaffected');
    });

    it('caps pending tasks per client with 429', async () => {
      const capped = await createKey(t.env, 'capped');
      let status = 0;
      const post = () =>
        limitedCall('/tasks', `Bearer ${capped}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payload":1}' }, cappedBase);
      let accepted = 0;
      for (let i = 0; i < 151 && status !== 429; i++) {
        status = (await post()).status;
        if (status === 202) accepted++;
      }
      assert.equal(status, 429);
      assert.equal(accepted, 150);
      const res = await post();
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'too_many_pending');
    });
  });

  describe('no leaks', () => {
    it('sends security headers and no X-Powered-By', async () => {
      const res = await call('/tasks/nope', { auth: `Bearer ${keyA}` });
      assert.equal(res.headers.get('x-powered-by'), null);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const body = await res.text();
      assert.doesNotMatch(body, /at \w+ \(|node_modules|\.js:\d+/);
    });

    it('never logs the Authorization header or a key', () => {
      const all = JSON.stringify(api.logs);
      for (const k of [keyA, keyB, adminKey]) assert.ok(!all.includes(k));
    });
  });
});
