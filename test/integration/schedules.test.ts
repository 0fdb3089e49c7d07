/**
 * Cron schedules on the real PostgreSQL (and RabbitMQ, a worker and two API processes at the end):
 * - two tickers racing over an every-second schedule make exactly one task per tick, with no tick
 *   left out; two transactions inserting the same tick make one task (the unique key, not the lock);
 * - a ticker stopped across ticks and restarted: `run_once` makes one task, `skip` none (injected clock);
 * - overlap `skip`, a round that fails leaves nothing and does not hold back other schedules;
 * - DST on the real database (injected clock): one task per distinct UTC tick through the fall-back hour;
 * - the API: validation (422 naming the field), owner scoping, pause/resume without a burst, and
 *   tasks made by two API processes' tickers run end to end by a real worker;
 * - a scheduled task's trace starts at its `schedule tick` span (OTLP receiver).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import knexFactory, { type Knex } from 'knex';
import { knexConfig } from '../../services/core/db/knex-config';
import { createLogger } from '../../services/core/log/logger';
import { cronClock } from '../../services/core/schedules/cron-times';
import type { TickResult } from '../../services/core/schedules/schedule';
import { createScheduleTicker, type ScheduleTicker } from '../../services/core/schedules/ticker';
import { insertScheduledTask } from '../../services/core/tasks/state/insert-scheduled';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { CLOCK_SKEW_PRELOAD } from '../support/clock-skew';
import { createKey } from '../support/keys';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { sample } from '../support/prom-text';
import { startStack, type Stack } from '../support/stack';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const types = taskTypes([extension]);
const silent = createLogger('schedules-test', 'silent');

interface TaskTick {
  id: string;
  tick: Date;
  status: string;
}

describe('schedule ticks on the real database (in-process tickers)', () => {
  let t: TestEnv;
  const pools: Knex[] = [];
  const tickers: ScheduleTicker[] = [];

  before(async () => {
    t = await createTestEnv();
  });
  afterEach(async () => {
    await Promise.all(tickers.splice(0).map((x) => x.stop()));
    // Each test's schedules go, so an injected clock in the next test cannot find them due.
    await t.db.raw('DELETE FROM schedules');
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.destroy()));
    await t?.cleanup();
  });

  /** A ticker with its own connection pool (a replica), recording what it dispatched and counted. */
  function ticker(o: { now?: () => Date; missedAfterMs?: number; pollMs?: number } = {}) {
    const db = knexFactory(knexConfig(t.config, 'schedules-test-ticker'));
    pools.push(db);
    const dispatched: string[] = [];
    const counts: Partial<Record<TickResult, number>> = {};
    const x = createScheduleTicker({
      db,
      types,
      pollMs: o.pollMs ?? 100,
      missedAfterMs: o.missedAfterMs ?? MINUTE,
      logger: silent,
      dispatch: (task) => dispatched.push(task.id),
      onTicks: (result, n) => (counts[result] = (counts[result] ?? 0) + n),
      now: o.now,
    });
    tickers.push(x);
    return { ticker: x, dispatched, counts };
  }

  /** A schedule row as POST /schedules writes it, its first tick given. */
  async function schedule(o: { cron: string; timezone?: string; nextRunAt: Date | Knex.Raw; overlap?: 'allow' | 'skip'; missed?: 'run_once' | 'skip' }): Promise<string> {
    const id = randomUUID();
    await t.db.raw(
      `INSERT INTO schedules (id, client_id, cron, timezone, type, payload, overlap, missed, next_run_at)
       VALUES (?, 'client-a', ?, ?, 'test.record', '{"mode":"record"}', ?, ?, ?)`,
      [id, o.cron, o.timezone ?? 'UTC', o.overlap ?? 'allow', o.missed ?? 'run_once', o.nextRunAt],
    );
    return id;
  }

  const tasksOf = async (scheduleId: string): Promise<TaskTick[]> =>
    (
      await t.db.raw<{ rows: TaskTick[] }>(`SELECT id, schedule_tick AS tick, status FROM tasks WHERE schedule_id = ? ORDER BY schedule_tick`, [scheduleId])
    ).rows;
  const scheduleRow = async (id: string) =>
    (await t.db.raw<{ rows: { next_run_at: Date | null; last_tick_result: string | null; skipped_ticks: string; last_task_id: string | null }[] }>(`SELECT * FROM schedules WHERE id = ?`, [id])).rows[0]!;

  it('two tickers racing over an every-second schedule: exactly one task per tick, and no tick without one', async () => {
    const a = ticker();
    const b = ticker();
    const id = await schedule({ cron: '*/1 * * * * *', nextRunAt: t.db.raw(`date_trunc('second', now()) + interval '1 second'`) });
    a.ticker.start();
    b.ticker.start();
    await new Promise((r) => setTimeout(r, 4_500));
    await Promise.all([a.ticker.stop(), b.ticker.stop()]);
    const tasks = await tasksOf(id);
    assert.ok(tasks.length >= 3, `only ${tasks.length} ticks in 4.5 s`);
    const ticks = tasks.map((x) => x.tick.getTime());
    assert.deepEqual(new Set(ticks.slice(1).map((tick, i) => tick - ticks[i]!)), new Set([SECOND]), 'consecutive seconds: no tick twice, none left out');
    // Every tick the schedule has moved past has its task: next_run_at is the one after the last.
    assert.equal((await scheduleRow(id)).next_run_at!.getTime(), ticks.at(-1)! + SECOND);
    // Each task was published once, by the ticker that created it.
    assert.deepEqual([...a.dispatched, ...b.dispatched].sort(), tasks.map((x) => x.id).sort());
    assert.equal((a.counts.created ?? 0) + (b.counts.created ?? 0), tasks.length);
  });

  it('the unique key, not the row lock: two transactions inserting the same tick make one task', async () => {
    const id = await schedule({ cron: '0 * * * * *', nextRunAt: new Date('2030-01-01T00:00:00Z') });
    const tick = new Date('2026-06-01T10:00:00Z');
    const row = () => ({ id: randomUUID(), type: 'test.record', payload: {}, maxAttempts: 1, timeoutMs: 1_000, traceContext: {}, clientId: 'client-a', scheduleId: id, tick });
    const first = await t.db.transaction();
    assert.equal(await insertScheduledTask(first, row()), true);
    // The second waits on the first's uncommitted index entry, then does nothing.
    const second = insertScheduledTask(t.db, row());
    await new Promise((r) => setTimeout(r, 200));
    await first.commit();
    assert.equal(await second, false);
    assert.equal((await tasksOf(id)).length, 1);
  });

  it('a round that re-plans ticks which already have tasks (a stale next_run_at) creates none', async () => {
    const T = new Date('2026-06-01T10:00:00Z');
    let now = new Date(T.getTime() + 3 * MINUTE + SECOND);
    const x = ticker({ now: () => now, missedAfterMs: 10 * MINUTE });
    const id = await schedule({ cron: '0 * * * * *', nextRunAt: T });
    await x.ticker.runNow();
    assert.equal((await tasksOf(id)).length, 4, 'T … T+3 min, all within the grace window');
    await t.db.raw(`UPDATE schedules SET next_run_at = ? WHERE id = ?`, [T, id]);
    now = new Date(T.getTime() + 4 * MINUTE + SECOND);
    await x.ticker.runNow();
    assert.equal((await tasksOf(id)).length, 5, 'only T+4 min is new');
    assert.equal(x.counts.created, 5);
  });

  for (const [missed, expected] of [
    ['run_once', 1],
    ['skip', 0],
  ] as const) {
    it(`a ticker stopped across ticks and restarted: missed=${missed} makes ${expected} task(s) for them, then continues`, async () => {
      const T = new Date('2026-06-01T10:00:00Z');
      const id = await schedule({ cron: '0 * * * * *', nextRunAt: T, missed });
      const before = ticker({ now: () => new Date(T.getTime() + SECOND), missedAfterMs: 20 * SECOND });
      await before.ticker.runNow();
      await before.ticker.stop();
      assert.equal((await tasksOf(id)).length, 1);
      // Down until T+4 min 30 s: ticks T+1…T+4 min are more than 20 s old, and none is within the grace window.
      let now = new Date(T.getTime() + 4 * MINUTE + 30 * SECOND);
      const restarted = ticker({ now: () => now, missedAfterMs: 20 * SECOND });
      await restarted.ticker.runNow();
      const tasks = await tasksOf(id);
      assert.equal(tasks.length, 1 + expected);
      if (expected === 1) assert.equal(tasks[1]!.tick.getTime(), T.getTime() + 4 * MINUTE, 'the most recent missed tick');
      const row = await scheduleRow(id);
      assert.equal(row.next_run_at!.getTime(), T.getTime() + 5 * MINUTE, 'continues from the next tick, no burst');
      assert.equal(Number(row.skipped_ticks), 4 - expected);
      assert.equal(restarted.counts.skipped_missed, 4 - expected);
      now = new Date(T.getTime() + 5 * MINUTE + SECOND);
      await restarted.ticker.runNow();
      assert.equal((await tasksOf(id)).length, 2 + expected);
    });
  }

  it('overlap skip: no task for a tick while the previous one is pending; the next tick after it finished gets one', async () => {
    const T = new Date('2026-06-01T10:00:00Z');
    let now = new Date(T.getTime() + SECOND);
    const x = ticker({ now: () => now });
    const skip = await schedule({ cron: '0 * * * * *', nextRunAt: T, overlap: 'skip' });
    const allow = await schedule({ cron: '0 * * * * *', nextRunAt: T, overlap: 'allow' });
    await x.ticker.runNow();
    now = new Date(T.getTime() + MINUTE + SECOND);
    await x.ticker.runNow();
    assert.deepEqual((await tasksOf(skip)).map((r) => r.status), ['pending'], 'the second tick skipped: the first task is still pending');
    assert.equal((await tasksOf(allow)).length, 2, 'allow: both ticks');
    const row = await scheduleRow(skip);
    assert.deepEqual([row.last_tick_result, Number(row.skipped_ticks)], ['skipped_overlap', 1]);
    assert.equal(x.counts.skipped_overlap, 1);
    await t.db.raw(`UPDATE tasks SET status = 'done', finished_at = now() WHERE schedule_id = ?`, [skip]);
    now = new Date(T.getTime() + 2 * MINUTE + SECOND);
    await x.ticker.runNow();
    assert.deepEqual((await tasksOf(skip)).map((r) => [r.status, r.tick.getTime() - T.getTime()]), [
      ['done', 0],
      ['pending', 2 * MINUTE],
    ]);
  });

  it('a round that fails rolls back (no task, still due) and does not hold back the schedules due after it', async () => {
    const T = new Date('2026-06-01T10:00:00Z');
    let now = new Date(T.getTime() + SECOND);
    const x = ticker({ now: () => now });
    const poisoned = await schedule({ cron: '0 * * * * *', nextRunAt: T });
    const healthy = await schedule({ cron: '0 * * * * *', nextRunAt: new Date(T.getTime() + 1) });
    // The task insert fails after the schedule was claimed, as a statement timeout would.
    await t.db.raw(`CREATE FUNCTION test_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`);
    await t.db.raw(`CREATE TRIGGER test_refuse BEFORE INSERT ON tasks FOR EACH ROW WHEN (NEW.schedule_id = '${poisoned}') EXECUTE FUNCTION test_refuse_insert()`);
    try {
      await x.ticker.runNow();
      assert.equal((await tasksOf(poisoned)).length, 0);
      assert.equal((await scheduleRow(poisoned)).next_run_at!.getTime(), T.getTime(), 'not advanced: due again');
      assert.equal((await tasksOf(healthy)).length, 1, 'the schedule due after it still ticked');
    } finally {
      await t.db.raw('DROP TRIGGER test_refuse ON tasks');
      await t.db.raw('DROP FUNCTION test_refuse_insert()');
    }
    now = new Date(T.getTime() + 2 * SECOND);
    await x.ticker.runNow();
    assert.equal((await tasksOf(poisoned)).length, 1, 'ticked once the fault is gone');
  });

  it('DST fall back in Europe/Berlin on the database (injected clock): one task per distinct UTC tick, both 02:xx hours, replays add none', async () => {
    const from = new Date('2026-10-24T22:00:00Z');
    const to = new Date('2026-10-25T03:00:00Z');
    const clock = cronClock('0 */30 * * * *', 'Europe/Berlin');
    const id = await schedule({ cron: '0 */30 * * * *', timezone: 'Europe/Berlin', nextRunAt: clock.next(from)! });
    let now = from;
    const x = ticker({ now: () => now, missedAfterMs: 2 * MINUTE });
    const walk = async () => {
      for (now = from; now <= to; now = new Date(now.getTime() + MINUTE)) await x.ticker.runNow();
    };
    await walk();
    const tasks = await tasksOf(id);
    const expected = clock.nextN(from, 100).filter((d) => d <= to);
    assert.deepEqual(tasks.map((r) => r.tick.toISOString()), expected.map((d) => d.toISOString()), 'exactly the ticks croner defines, once each');
    const hour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' });
    assert.equal(tasks.filter((r) => hour.format(r.tick) === '02').length, 4, '02:00 and 02:30, each twice (summer then winter time)');
    // A second pass over the same ticks (a replica with a stale view) finds every tick taken.
    await t.db.raw(`UPDATE schedules SET next_run_at = ? WHERE id = ?`, [clock.next(from), id]);
    await walk();
    assert.equal((await tasksOf(id)).length, tasks.length);
  });
});

describe('schedules through the API: validation, ownership, pause/resume, two API processes and a worker', () => {
  let s: Stack;
  let api2: ServiceProcess;
  let base2: string;
  let keyA: string;
  let keyB: string;
  let adminKey: string;

  before(async () => {
    s = await startStack({ AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '60000', SCHEDULE_POLL_MS: '100', SCHEDULE_MISSED_AFTER_MS: '5000', SWEEP_INTERVAL_MS: '200' });
    [keyA, keyB, adminKey] = await Promise.all([createKey(s.t.env, 'client-a'), createKey(s.t.env, 'client-b'), createKey(s.t.env, 'ops', true)]);
    const port = await freePort();
    // The second replica's clock is 10 minutes fast: what is due, and when a schedule starts, must
    // come from PostgreSQL's clock, or this replica would tick ahead of time.
    api2 = await startReady('api', { ...s.t.env, PORT: String(port), NODE_OPTIONS: `--require ${CLOCK_SKEW_PRELOAD}`, TEST_CLOCK_SKEW_MS: String(10 * MINUTE) }, port);
    base2 = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await api2?.stop();
    await s?.stop();
  });

  const call = (path: string, key: string, init: { method?: string; body?: unknown; base?: string } = {}) =>
    fetch(`${init.base ?? s.base}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${key}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const create = (key: string, body: Record<string, unknown>) => call('/schedules', key, { method: 'POST', body });
  const valid = { cron: '0 0 3 * * *', timezone: 'Europe/Berlin', type: 'test.record', payload: { mode: 'record' } };
  const countSchedules = async () => Number((await s.t.db.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM schedules')).rows[0]!.n);

  it('refuses bad input with a 422 naming the field, and stores nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, cron: '61 * * * *' }, 'cron'],
      [{ ...valid, cron: '0 0 30 2 *' }, 'cron'],
      [{ ...valid, cron: '2030-01-01T00:00:00' }, 'cron'],
      [{ ...valid, timezone: 'Mars/Phobos' }, 'timezone'],
      [{ ...valid, type: 'no.such.type' }, 'type'],
      [{ ...valid, overlap: 'sometimes' }, 'overlap'],
      [{ ...valid, missed: 'later' }, 'missed'],
      [{ ...valid, timeout_ms: 0 }, 'timeout_ms'],
      [{ ...valid, payload: { mode: 'no-such-mode' } }, 'payload.mode'],
      [{ ...valid, extra: 1 }, ''],
    ];
    for (const [body, field] of cases) {
      const r = await create(keyA, body);
      const answer = (await r.json()) as { error: { code: string; details?: { issues: { path: string }[] } } };
      assert.equal(r.status, 422, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(answer)}`);
      assert.ok(answer.error.details?.issues.some((i) => i.path === field), `${field}: ${JSON.stringify(answer)}`);
    }
    const notJson = await fetch(`${s.base}/schedules`, { method: 'POST', headers: { authorization: `Bearer ${keyA}`, 'content-type': 'application/json' }, body: '{' });
    assert.equal(notJson.status, 400);
    assert.equal(await countSchedules(), 0);
  });

  it('answers arbitrary schedule bodies with 201 or a JSON 4xx, never a 5xx (fast-check)', async () => {
    const cronField = fc.oneof(fc.constantFrom('*', '*/1', '0', '59', '60', 'L', '5#2', 'MON-FRI', '1-5/2', '?', '#', '-1', 'W', '*/0'), fc.string({ maxLength: 4 }));
    const body = fc.record(
      {
        cron: fc.oneof(fc.array(cronField, { minLength: 0, maxLength: 8 }).map((f) => f.join(' ')), fc.string(), fc.constantFrom('@hourly', '@yearly', '2030-01-01T00:00:00'), fc.integer()),
        timezone: fc.oneof(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Phobos', '+01:00', '', 'utc', '../etc'), fc.string()),
        type: fc.oneof(fc.constant('test.record'), fc.string()),
        payload: fc.oneof(fc.constant({ mode: 'record' }), fc.jsonValue()),
        overlap: fc.oneof(fc.constantFrom('allow', 'skip'), fc.string(), fc.integer()),
        missed: fc.oneof(fc.constantFrom('run_once', 'skip'), fc.string()),
        max_attempts: fc.oneof(fc.integer(), fc.double(), fc.string()),
        timeout_ms: fc.oneof(fc.integer(), fc.constant(null)),
        name: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const r = await create(keyB, b);
        const text = await r.text();
        if (r.status === 201) return;
        assert.ok([400, 413, 422].includes(r.status), `${r.status} for ${JSON.stringify(b)}: ${text}`);
        assert.ok((JSON.parse(text) as { error?: { code?: string } }).error?.code, text);
      }),
      { numRuns: 300 },
    );
    await s.t.db.raw(`DELETE FROM schedules WHERE client_id = 'client-b'`);
  });

  it('is owner-scoped: another client gets 404 for every operation, an admin sees all', async () => {
    const r = await create(keyA, { ...valid, name: 'a nightly' });
    assert.equal(r.status, 201);
    const created = (await r.json()) as { schedule_id: string; next_runs: string[]; next_run_at: string };
    assert.equal(r.headers.get('location'), `/schedules/${created.schedule_id}`);
    assert.equal(created.next_runs.length, 5);
    assert.equal(created.next_runs[0], created.next_run_at);
    const id = created.schedule_id;
    for (const [path, method] of [
      [`/schedules/${id}`, 'GET'],
      [`/schedules/${id}`, 'DELETE'],
      [`/schedules/${id}/pause`, 'POST'],
      [`/schedules/${id}/resume`, 'POST'],
    ] as const) {
      const other = await call(path, keyB, { method });
      assert.equal(other.status, 404, `${method} ${path}`);
      assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'not_found');
    }
    const listed = async (key: string) => ((await (await call('/schedules', key)).json()) as { schedules: { schedule_id: string }[] }).schedules.map((x) => x.schedule_id);
    assert.deepEqual(await listed(keyB), []);
    assert.deepEqual(await listed(keyA), [id]);
    assert.ok((await listed(adminKey)).includes(id));
    assert.equal((await call(`/schedules/${id}`, adminKey)).status, 200);
    assert.equal((await call(`/schedules/${id}`, keyA, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/schedules/${id}`, keyA)).status, 404);
  });

  it('pages GET /schedules with a keyset cursor', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await create(keyB, { ...valid, name: `page ${i}` })).json()) as { schedule_id: string }).schedule_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await call(`/schedules?limit=2${cursor ? `&cursor=${cursor}` : ''}`, keyB)).json()) as { schedules: { schedule_id: string }[]; next_cursor: string | null };
      seen.push(...page.schedules.map((x) => x.schedule_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ids.reverse(), 'newest first, each once');
    assert.equal((await call('/schedules?cursor=bogus', keyB)).status, 400);
  });

  it('two API processes (one with a clock 10 min fast) tick one every-second schedule: one task per tick, none early, each run once by the worker; pause stops it, resume continues from now', async () => {
    const r = await call('/schedules', keyA, { method: 'POST', base: base2, body: { cron: '*/1 * * * * *', type: 'test.record', payload: { mode: 'record' }, priority: 7 } });
    assert.equal(r.status, 201);
    const { schedule_id: id, next_run_at: first } = (await r.json()) as { schedule_id: string; next_run_at: string };
    assert.ok(Math.abs(new Date(first).getTime() - Date.now()) < 5 * SECOND, `first tick ${first} from PostgreSQL's clock, not the fast replica's`);
    const done = async () =>
      (await s.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE schedule_id = ? AND status = 'done'`, [id])).rows[0]!.n;
    await waitFor('4 scheduled tasks done', async () => Number(await done()) >= 4, 30_000, 200);

    const paused = await call(`/schedules/${id}/pause`, keyA, { method: 'POST', base: base2 });
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as { paused: boolean }).paused, true);
    const ticksAt = async () =>
      (await s.t.db.raw<{ rows: { tick: Date; status: string; id: string; client_id: string }[] }>(`SELECT id, schedule_tick AS tick, status, client_id FROM tasks WHERE schedule_id = ? ORDER BY schedule_tick`, [id])).rows;
    const atPause = await ticksAt();
    await new Promise((res) => setTimeout(res, 1_500));
    assert.equal((await ticksAt()).length, atPause.length, 'no tick while paused (pause waits for a round holding the row)');

    const ticks = atPause.map((x) => x.tick.getTime());
    assert.deepEqual(new Set(ticks.slice(1).map((tick, i) => tick - ticks[i]!)), new Set([SECOND]), 'one task per tick, none left out, across two API processes');
    assert.ok(atPause.every((x) => x.client_id === 'client-a'), "tasks belong to the schedule's owner");
    const dbNow = (await s.t.db.raw<{ rows: { now: Date }[] }>('SELECT now()')).rows[0]!.now;
    assert.ok(ticks.at(-1)! <= dbNow.getTime(), 'no tick ahead of the database clock (the fast replica ticked nothing early)');
    await waitFor('every scheduled task done', async () => (await ticksAt()).every((x) => x.status === 'done'), 20_000, 200);
    const runs = (await s.t.db.raw<{ rows: { task_id: string; n: string }[] }>(`SELECT task_id, count(*) AS n FROM test_executions WHERE task_id = ANY(?::uuid[]) GROUP BY task_id`, [atPause.map((x) => x.id)])).rows;
    assert.deepEqual(runs.map((x) => Number(x.n)), atPause.map(() => 1), 'each task ran once');

    // Both processes' counters together count each created task once.
    const created = async (base: string) => sample(await (await fetch(`${base}/metrics`)).text(), 'tasker_schedule_ticks_total', { result: 'created' }) ?? 0;
    assert.equal((await created(s.base)) + (await created(base2)), atPause.length);

    const task = (await (await call(`/tasks/${atPause[0]!.id}`, keyA)).json()) as { schedule_id: string; priority: number };
    assert.deepEqual([task.schedule_id, task.priority], [id, 7], 'a scheduled task names its schedule and carries its priority');
    const view = (await (await call(`/schedules/${id}`, keyA)).json()) as { last_task_id: string; last_tick_at: string; next_runs: string[] };
    assert.equal(view.last_task_id, atPause.at(-1)!.id);
    assert.equal(new Date(view.last_tick_at).getTime(), ticks.at(-1));

    const resumedAt = Date.now();
    const resumed = (await (await call(`/schedules/${id}/resume`, keyA, { method: 'POST' })).json()) as { paused: boolean; next_run_at: string };
    assert.equal(resumed.paused, false);
    // No burst for the ticks missed while paused: the first new tick is after the resume.
    assert.ok(new Date(resumed.next_run_at).getTime() > resumedAt - 1_000, `${resumed.next_run_at} vs resume at ${new Date(resumedAt).toISOString()}`);
    await waitFor('a tick after the resume', async () => (await ticksAt()).length > atPause.length, 10_000, 100);
    const after = (await ticksAt()).slice(atPause.length);
    assert.ok(after.every((x) => x.tick.getTime() >= new Date(resumed.next_run_at).getTime()), 'only ticks from next_run_at on');
    assert.equal((await call(`/schedules/${id}`, keyA, { method: 'DELETE' })).status, 204);
  });
});

describe('a scheduled task’s trace starts at its schedule', () => {
  let s: Stack;
  let otlp: OtlpReceiver;

  before(async () => {
    otlp = await startOtlpReceiver();
    s = await startStack({ ...otlp.env, OTEL_BSP_SCHEDULE_DELAY: '100', SCHEDULE_POLL_MS: '100', SCHEDULE_MISSED_AFTER_MS: '5000' });
  });
  after(async () => {
    await s?.stop();
    await otlp?.close();
  });

  it('the `schedule tick` span is the root; the publish and the worker’s attempt join its trace', async () => {
    const r = await fetch(`${s.base}/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cron: '*/1 * * * * *', type: 'test.record', payload: { mode: 'record' } }),
    });
    assert.equal(r.status, 201);
    const id = ((await r.json()) as { schedule_id: string }).schedule_id;
    const consumer = await waitFor(
      'a consumer span of a task of the schedule, with its tick span',
      () => {
        const ticks = otlp.spans.filter((x) => x.name === 'schedule tick' && x.attributes['tasker.schedule.id'] === id);
        const c = otlp.spans.find((x) => x.kind === SPAN_KIND.CONSUMER && ticks.some((t) => t.attributes['tasker.task.id'] === x.attributes['tasker.task.id']));
        return Promise.resolve(c ?? null);
      },
      20_000,
      100,
    );
    assert.equal((await fetch(`${s.base}/schedules/${id}`, { method: 'DELETE' })).status, 204);
    const taskId = String(consumer.attributes['tasker.task.id']);
    const tick = otlp.spans.find((x) => x.name === 'schedule tick' && x.attributes['tasker.task.id'] === taskId)!;
    assert.equal(tick.parentSpanId, '', 'the tick span is the root of the task’s trace');
    assert.equal(tick.service, 'tasker-api');
    assert.match(String(tick.attributes['tasker.schedule.tick']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    assert.equal(consumer.traceId, tick.traceId, 'the attempt joins the schedule tick’s trace');
    assert.equal(consumer.parentSpanId, tick.spanId, 'as a child of the context stored on the row');
    const publish = otlp.spans.find((x) => x.kind === SPAN_KIND.PRODUCER && x.attributes['tasker.task.id'] === taskId);
    assert.equal(publish?.traceId, tick.traceId, 'the publish joins it too');
    const row = (await s.t.db.raw<{ rows: { schedule_id: string }[] }>(`SELECT schedule_id FROM tasks WHERE id = ?`, [taskId])).rows[0];
    assert.equal(row?.schedule_id, id);
  });
});

describe('the only API process SIGKILLed across ticks and restarted (real time)', () => {
  let t: TestEnv;
  let api: ServiceProcess | undefined;
  after(async () => {
    await api?.stop();
    await t?.cleanup();
  });

  it('no tick gets two tasks; ticks inside the missed window after the restart all get one, older ones only the newest (run_once)', async () => {
    t = await createTestEnv({ SCHEDULE_POLL_MS: '100', SCHEDULE_MISSED_AFTER_MS: '2000' });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    api = await startReady('api', { ...t.env, PORT: String(port) }, port);
    const r = await fetch(`${base}/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cron: '*/1 * * * * *', type: 'test.record', payload: { mode: 'record' }, missed: 'run_once' }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    const { schedule_id: id } = (await r.json()) as { schedule_id: string };
    const ticks = async () =>
      (await t.db.raw<{ rows: { tick: Date }[] }>(`SELECT schedule_tick AS tick FROM tasks WHERE schedule_id = ? ORDER BY 1`, [id])).rows.map((x) => x.tick.getTime());
    await waitFor('three ticks before the kill', async () => (await ticks()).length >= 3, 10_000, 100);
    await api.stop('SIGKILL');
    const dbNow = async () => (await t.db.raw<{ rows: { now: Date }[] }>('SELECT now()')).rows[0]!.now.getTime();
    const lastBefore = (await ticks()).at(-1)!;
    await new Promise((res) => setTimeout(res, 5_000)); // five ticks with no ticker: more than the 2 s window
    const restartAt = await dbNow();
    api = await startReady('api', { ...t.env, PORT: String(port) }, port);
    await new Promise((res) => setTimeout(res, 2_500));
    const all = await ticks();
    assert.equal(new Set(all).size, all.length, 'no tick has two tasks');
    const down = all.filter((x) => x > lastBefore && x < restartAt);
    const expectedDown = Math.floor((restartAt - lastBefore) / SECOND);
    // Ticks more than 2 s old when the restarted ticker reached them are missed; run_once keeps the newest of those.
    assert.ok(down.length >= 1 && down.length < expectedDown, `${down.length} of the ${expectedDown} ticks while no ticker ran got a task`);
    const after = all.filter((x) => x >= restartAt);
    const gaps = after.slice(1).map((x, i) => x - after[i]!);
    assert.ok(after.length >= 2 && gaps.every((g) => g === SECOND), `after the restart, one task per second: ${JSON.stringify(gaps)}`);
  });
});
