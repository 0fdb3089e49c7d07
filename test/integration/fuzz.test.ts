/**
 * Property-based fuzzing of the HTTP surface with fast-check (FUZZ_RUNS, default 10 000): arbitrary
 * JSON and non-JSON bodies, deep nesting, huge strings, __proto__/constructor keys, invalid UTF-8,
 * wrong or missing content types, duplicated headers, path fuzz on /tasks/:id. The API runs
 * in-process (same wiring as main.ts) on the real PostgreSQL and RabbitMQ, so Object.prototype can
 * be checked directly. Every answer must be a documented 2xx/4xx; no row may be stored for a 4xx.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createApiService, type ApiService } from '../../services/api/api-service';
import { generateApiKey } from '../../services/core/auth/api-key';
import { createApiKeyRepository } from '../../services/core/auth/api-key.repository';
import { loadConfig } from '../../services/core/config/config';
import { createLogger } from '../../services/core/log/logger';
import { createTestEnv, type TestEnv } from '../support/infra';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const DOCUMENTED = new Set([200, 202, 400, 401, 404, 405, 409, 413, 415, 422, 429, 431]);
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

interface Sent {
  status: number;
  body: string;
  replayed: boolean;
}

function send(port: number, method: string, path: string, headers: [string, string][], body?: Buffer): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const flat = headers.flat();
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: flat, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), replayed: res.headers['idempotent-replayed'] === 'true' }),
      );
      res.on('error', reject);
    });
    // A reset or a broken pipe is not an answer: an oversized body must get its JSON 413 like any other error.
    req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`${method} ${path}: ${e.code ?? e.message} instead of an HTTP answer`, { cause: e })));
    if (body) req.write(body);
    req.end();
  });
}

describe('HTTP fuzzing', () => {
  let t: TestEnv;
  let api: ApiService;
  let port: number;
  let key: string;

  before(async () => {
    t = await createTestEnv({ AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '60000', PORT: '0', MAX_BODY_BYTES: '65536' });
    const k = generateApiKey();
    await createApiKeyRepository(t.db).insert({ id: randomUUID(), clientId: 'fuzzer', prefix: k.prefix, hash: k.hash, admin: false });
    key = k.plain;
    api = await createApiService(loadConfig(t.env), createLogger('tasker-api', 'silent'));
    port = (await api.start()).port;
  });
  after(async () => {
    await api?.stop();
    await t?.cleanup();
  });

  it('answers oversized bodies, up to 75 × the limit, with a JSON 413 and never a reset', async () => {
    // Node's server reads and discards the rest of a body the app did not consume once the
    // response is sent, so the client reads its 413 instead of losing it to a reset.
    for (const size of [65_537, 200_000, 1_000_000, 5_000_000]) {
      for (let i = 0; i < 10; i++) {
        const res = await send(port, 'POST', '/tasks', [['Host', `127.0.0.1:${port}`], ['Authorization', `Bearer ${key}`], ['Content-Type', 'application/json'], ['Content-Length', String(size)]], Buffer.alloc(size, 'x'));
        assert.equal(res.status, 413, `${size} bytes`);
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'payload_too_large');
      }
    }
  });

  it(`answers ${RUNS} arbitrary requests with documented 2xx/4xx only, storing rows only for 202s`, async () => {
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const segment = fc.oneof(
      fc.uuid(),
      fc.string({ unit: 'binary', maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom('..', '%00', '%ZZ', '%', '%2e%2e', 'a%2Fb', '%F0%9F%92%A5', '%E0%A4%A', 'null', '%20'),
    );
    const path = fc.oneof(
      fc.constant('/tasks'),
      segment.map((s) => `/tasks/${s}`),
      fc.tuple(segment, fc.constantFrom('cancel', 'retry', 'x')).map(([s, a]) => `/tasks/${s}/${a}`),
      fc.constant('/dead-letters/replay'),
      fc.string({ maxLength: 40 }).filter((s) => HEADER_SAFE.test(s) && !/[\s#?]/.test(s)).map((s) => `/${encodeURI(s)}`),
      fc.constant('/tasks?limit=100000'),
      fc.string({ maxLength: 30 }).map((s) => `/tasks?cursor=${encodeURIComponent(s)}&status=${encodeURIComponent(s)}`),
    );
    const hostile = fc.constantFrom(
      '{"__proto__":{"polluted":1},"payload":1}',
      '{"payload":{"__proto__":{"polluted":1}}}',
      '{"payload":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"payload":1,"constructor":{"prototype":{"polluted":true}}}',
      '{"payload":{"durationMs":1e309}}',
      '{"payload":1,"timeout_ms":-1}',
      '{"payload":null}',
      '{"payload":"a\\u0000b"}',
      '{"payload":{"k\\u0000":1}}',
    );
    const body = fc.oneof(
      { weight: 4, arbitrary: fc.record({ payload: fc.jsonValue({ maxDepth: 4 }), type: fc.option(fc.constantFrom('simulate', 'test.record', 'nope', ''), { nil: undefined }) }).map((o) => Buffer.from(JSON.stringify({ ...o, payload: { durationMs: 0, data: o.payload } }))) },
      { weight: 3, arbitrary: fc.json({ maxDepth: 5 }).map((s) => Buffer.from(s)) },
      { weight: 2, arbitrary: hostile.map((s) => Buffer.from(s)) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_000 }).map((n) => Buffer.from(`{"payload":${'['.repeat(n)}${']'.repeat(n)}}`)) },
      { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((n) => Buffer.from(JSON.stringify({ payload: 'x'.repeat(n) }))) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
      { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    const contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', ''),
      fc.string({ maxLength: 40 }).filter((s) => HEADER_SAFE.test(s)),
    );
    const auth = fc.oneof(
      { weight: 8, arbitrary: fc.constant(`Bearer ${key}`) },
      fc.constantFrom('', 'Bearer', 'Bearer tsk_x', `Basic ${key}`, `Bearer ${key}x`),
      fc.string({ maxLength: 60 }).filter((s) => HEADER_SAFE.test(s)),
    );
    const request = fc.record({
      method: fc.oneof({ weight: 3, arbitrary: fc.constant('POST') }, fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH')),
      path,
      body,
      contentType: fc.option(contentType, { nil: undefined }),
      auth,
      idempotencyKey: fc.option(fc.oneof(fc.constantFrom('k1', 'k2'), fc.string({ maxLength: 300 }).filter((s) => HEADER_SAFE.test(s))), { nil: undefined }),
      duplicate: fc.constantFrom('none', 'content-type', 'idempotency-key', 'authorization'),
    });

    let created = 0;
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: [string, string][] = [['Host', `127.0.0.1:${port}`]];
        if (r.auth !== '') headers.push(['Authorization', r.auth]);
        if (r.contentType !== undefined) headers.push(['Content-Type', r.contentType]);
        if (r.idempotencyKey !== undefined) headers.push(['Idempotency-Key', r.idempotencyKey]);
        if (r.duplicate === 'content-type') headers.push(['Content-Type', 'text/plain']);
        if (r.duplicate === 'idempotency-key') headers.push(['Idempotency-Key', 'dup']);
        if (r.duplicate === 'authorization') headers.push(['Authorization', 'Bearer other']);
        if (r.body) headers.push(['Content-Length', String(r.body.length)]);
        const res = await send(port, r.method, r.path, headers, r.body);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        assert.ok(DOCUMENTED.has(res.status), `undocumented status ${res.status} for ${r.method} ${r.path}: ${res.body.slice(0, 300)}`);
        if (res.status >= 400) {
          const parsed = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
          assert.equal(typeof parsed.error?.code, 'string', `JSON error body for ${res.status}`);
        }
        // A new submission answers exactly {task_id, status} (retries and replays answer otherwise).
        if (res.status === 202 && !res.replayed && Object.keys(JSON.parse(res.body) as object).sort().join() === 'status,task_id') created++;
        assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype polluted');
      }),
      { numRuns: RUNS },
    );

    const rows = Number((await t.db('tasks').count<{ n: string }[]>('* as n'))[0]!.n);
    assert.equal(rows, created, 'exactly one row per accepted (non-replayed) submission');
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore);
    assert.equal((await send(port, 'GET', '/health', [['Host', 'localhost']])).status, 200, 'the server still answers');
    assert.ok((seen.get(202) ?? 0) > 0 && (seen.get(400) ?? 0) > 0 && (seen.get(401) ?? 0) > 0, `status mix: ${JSON.stringify([...seen])}`);
  });
});
