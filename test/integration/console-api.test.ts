/**
 * What the web console reads, against a real API (in-process, same wiring as main.ts) on the real
 * PostgreSQL: the /ui files and their CSP without credentials, /whoami, /overview counted against
 * rows written straight into the table, the list's time and error-text filters, and the replay
 * dry run that changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiService, type ApiService } from '../../services/api/api-service';
import { loadConfig } from '../../services/core/config/config';
import { createLogger } from '../../services/core/log/logger';
import { createTestEnv, type TestEnv } from '../support/infra';
import { createKey } from '../support/keys';

interface Row {
  client: string;
  status: 'pending' | 'processing' | 'done' | 'failed' | 'cancelled';
  type?: string;
  /** Seconds from now (negative: past). */
  runAfter?: number;
  finishedAgo?: number;
  createdAgo?: number;
  message?: string;
}

describe('console API', () => {
  let t: TestEnv;
  let api: ApiService;
  let base: string;
  let keyA: string;
  let keyB: string;
  let admin: string;

  before(async () => {
    t = await createTestEnv({ AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '0', PORT: '0', TRACE_URL_TEMPLATE: 'http://jaeger.test/trace/{trace_id}' });
    [keyA, keyB, admin] = await Promise.all([createKey(t.env, 'client-a'), createKey(t.env, 'client-b'), createKey(t.env, 'ops', true)]);
    api = await createApiService(loadConfig(t.env), createLogger('tasker-api', 'silent'));
    base = `http://127.0.0.1:${(await api.start()).port}`;
  });
  after(async () => {
    await api?.stop();
    await t?.cleanup();
  });

  const get = async <T>(path: string, key: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as T };
  };

  async function insert(rows: Row[]): Promise<string[]> {
    const ids: string[] = [];
    for (const r of rows) {
      const id = randomUUID();
      ids.push(id);
      const terminal = r.status === 'done' || r.status === 'failed' || r.status === 'cancelled';
      const error = r.message === undefined ? null : { reason: 'error', message: r.message, attempt: 1, at: new Date().toISOString() };
      await t.db.raw(
        `INSERT INTO tasks (id, type, status, payload, attempts, max_attempts, timeout_ms, client_id, run_after, created_at,
                            finished_at, lease_token, lease_expires_at, locked_by, published_at, started_at, error, errors)
         VALUES (?, ?, ?, '{}', 1, 1, 60000, ?, now() + ? * interval '1 second', now() - ? * interval '1 second',
                 CASE WHEN ? THEN now() - ? * interval '1 second' END,
                 CASE WHEN ? THEN gen_random_uuid() END, CASE WHEN ? THEN now() + interval '1 hour' END, CASE WHEN ? THEN 'w' END,
                 now(), now(), ?::jsonb, ?::jsonb)`,
        [
          id,
          r.type ?? 'simulate',
          r.status,
          r.client,
          r.runAfter ?? 0,
          r.createdAgo ?? 0,
          terminal,
          r.finishedAgo ?? 0,
          r.status === 'processing',
          r.status === 'processing',
          r.status === 'processing',
          error === null ? null : JSON.stringify(error),
          JSON.stringify(error === null ? [] : [error]),
        ],
      );
    }
    return ids;
  }

  describe('/ui', () => {
    it('serves the console without credentials, under a CSP that allows this origin only', async () => {
      const res = await fetch(`${base}/ui/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /style-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
      assert.doesNotMatch(html, /<style|\sstyle=/i, 'no inline style');
      const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(scripts.length > 0, 'index.html loads a script');
      for (const src of scripts) {
        const js = await fetch(new URL(src, `${base}/ui/`));
        assert.equal(js.status, 200, src);
        assert.match(js.headers.get('content-type') ?? '', /javascript/);
        const etag = js.headers.get('etag') ?? '';
        assert.equal((await fetch(new URL(src, `${base}/ui/`), { headers: { 'if-none-match': etag } })).status, 304);
      }
    });

    it('redirects /ui to /ui/, and answers unknown files and escapes with a JSON 404', async () => {
      const res = await fetch(`${base}/ui`, { redirect: 'manual' });
      assert.equal(res.status, 308);
      assert.equal(res.headers.get('location'), '/ui/');
      for (const path of ['/ui/nope.js', '/ui/..%2Fpackage.json', '/ui/%2e%2e%2f%2e%2e%2fpackage.json']) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, 404, path);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'not_found');
      }
    });

    it('keeps every API route behind credentials', async () => {
      assert.equal((await fetch(`${base}/overview`)).status, 401);
      assert.equal((await fetch(`${base}/whoami`)).status, 401);
      assert.equal((await fetch(`${base}/ui/../tasks`)).status, 401, 'a dot segment resolved by the client is just /tasks');
    });
  });

  it('/whoami names the caller', async () => {
    assert.deepEqual((await get('/whoami', keyA)).body, { client_id: 'client-a', admin: false });
    assert.deepEqual((await get('/whoami', admin)).body, { client_id: 'ops', admin: true });
  });

  it('/overview counts what the table holds, per type, scoped to the caller', async () => {
    await t.db.raw('DELETE FROM tasks');
    await insert([
      { client: 'client-a', status: 'pending', runAfter: -30 },
      { client: 'client-a', status: 'pending', runAfter: -5 },
      { client: 'client-a', status: 'pending', runAfter: 600 },
      { client: 'client-a', status: 'processing' },
      { client: 'client-a', status: 'done', finishedAgo: 10 },
      { client: 'client-a', status: 'done', finishedAgo: 130 },
      { client: 'client-a', status: 'done', finishedAgo: 2 * 3600 },
      { client: 'client-a', status: 'failed', finishedAgo: 10, message: 'boom' },
      { client: 'client-a', status: 'failed', finishedAgo: 3 * 3600, message: 'old boom' },
      { client: 'client-a', status: 'cancelled', finishedAgo: 20 },
      { client: 'client-b', status: 'pending', runAfter: -100 },
      { client: 'client-b', status: 'done', finishedAgo: 5 },
      { client: 'client-b', status: 'pending', type: 'other', runAfter: 0 },
    ]);
    type Overview = {
      buckets: number;
      types: { type: string; pending_due: number; pending_delayed: number; running: number; oldest_pending_age_ms: number | null; dead_letters: number; last_hour: Record<string, number>; series: { done: number[]; failed: number[] } }[];
    };
    const a = (await get<Overview>('/overview', keyA)).body;
    const listed = a.types.map((x) => x.type);
    assert.ok(listed.includes('simulate'), 'a registered type');
    assert.ok(!listed.includes('other'), "no type only another client has tasks of");
    const s = a.types.find((x) => x.type === 'simulate')!;
    assert.equal(s.pending_due, 2);
    assert.equal(s.pending_delayed, 1);
    assert.equal(s.running, 1);
    assert.equal(s.dead_letters, 2);
    assert.deepEqual(s.last_hour, { done: 2, failed: 1, cancelled: 1 });
    assert.ok(s.oldest_pending_age_ms !== null && s.oldest_pending_age_ms >= 30_000 && s.oldest_pending_age_ms < 60_000, String(s.oldest_pending_age_ms));
    assert.equal(s.series.done.length, a.buckets);
    assert.equal(s.series.done.reduce((x, y) => x + y, 0), 2);
    assert.equal(s.series.done.at(-1)! + s.series.done.at(-2)!, 1, 'the task done 10 s ago is in the current or the previous minute');
    assert.equal(s.series.failed.reduce((x, y) => x + y, 0), 1);

    const all = (await get<Overview>('/overview', admin)).body;
    const byType = new Map(all.types.map((x) => [x.type, x]));
    assert.equal(byType.get('simulate')!.pending_due, 3);
    assert.ok(byType.get('simulate')!.oldest_pending_age_ms! >= 100_000);
    assert.equal(byType.get('simulate')!.last_hour.done, 3);
    assert.equal(byType.get('other')!.pending_due, 1, 'an admin sees a type with tasks even if no replica registers it');
  });

  it('filters the list by creation time and by text in error messages (LIKE characters taken literally)', async () => {
    await t.db.raw('DELETE FROM tasks');
    const [recent, old, percent] = await insert([
      { client: 'client-a', status: 'failed', finishedAgo: 1, createdAgo: 60, message: 'Connection REFUSED by upstream' },
      { client: 'client-a', status: 'failed', finishedAgo: 1, createdAgo: 7200, message: 'connection refused again' },
      { client: 'client-a', status: 'failed', finishedAgo: 1, createdAgo: 30, message: 'disk 100% full' },
      { client: 'client-b', status: 'failed', finishedAgo: 1, createdAgo: 30, message: 'connection refused for b' },
    ]);
    type List = { tasks: { task_id: string }[] };
    const ids = async (q: string, key = keyA) => (await get<List>(`/tasks?${q}`, key)).body.tasks.map((x) => x.task_id).sort();
    assert.deepEqual(await ids('q=connection%20refused'), [recent!, old!].sort());
    assert.deepEqual(await ids(`q=refused&created_after=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`), [recent]);
    assert.deepEqual(await ids(`created_before=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`), [old]);
    assert.deepEqual(await ids('q=100%25'), [percent]);
    assert.deepEqual(await ids('q=%25'), [percent], '% is a character, not a wildcard');
    assert.deepEqual(await ids('q=_'), [], '_ is a character, not a wildcard');
    const bad = await get<{ error: { code: string } }>('/tasks?created_after=yesterday', keyA);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_query');
  });

  it('a replay dry run says how many and how fast, and changes nothing', async () => {
    await t.db.raw('DELETE FROM tasks');
    await insert([
      { client: 'client-a', status: 'failed', finishedAgo: 1, message: 'x' },
      { client: 'client-a', status: 'failed', finishedAgo: 1, message: 'y' },
      { client: 'client-a', status: 'failed', finishedAgo: 1, message: 'z' },
      { client: 'client-b', status: 'failed', finishedAgo: 1, message: 'b' },
    ]);
    const post = async (key: string, body: unknown) => {
      const res = await fetch(`${base}/dead-letters/replay`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await res.json()) as { replayed: number; matched: number; spread_ms: number; rate_per_second: number };
    };
    const rate = t.config.REPLAY_RATE_PER_SECOND;
    assert.deepEqual(await post(keyA, { dry_run: true }), { replayed: 0, matched: 3, spread_ms: Math.round((2 * 1000) / rate), rate_per_second: rate });
    assert.deepEqual(await post(keyA, { dry_run: true, limit: 2 }), { replayed: 0, matched: 2, spread_ms: Math.round(1000 / rate), rate_per_second: rate });
    assert.equal((await post(admin, { dry_run: true })).matched, 4);
    const [{ n }] = (await t.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM tasks WHERE status = 'failed'`)).rows as [{ n: number }];
    assert.equal(n, 4, 'nothing replayed');
    assert.deepEqual(await post(keyB, {}), { replayed: 1, matched: 1, spread_ms: 0, rate_per_second: rate });
  });

  it('links a task to its trace through TRACE_URL_TEMPLATE', async () => {
    const [id = ''] = await insert([{ client: 'client-a', status: 'done', finishedAgo: 1 }]);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await t.db.raw(`UPDATE tasks SET trace_context = ?::jsonb WHERE id = ?`, [JSON.stringify({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` }), id]);
    const task = (await get<{ trace_id: string | null; trace_url: string | null }>(`/tasks/${id}`, keyA)).body;
    assert.equal(task.trace_id, traceId);
    assert.equal(task.trace_url, `http://jaeger.test/trace/${traceId}`);
  });
});
