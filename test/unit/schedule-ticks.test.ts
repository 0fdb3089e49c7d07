/**
 * The pure tick computation of cron schedules (core/schedules/cron-times.ts), with injected time:
 * DST in both directions (Europe/Berlin, 2026-03-29 and 2026-10-25) stepping a simulated ticker
 * through the change, the grace window, the missed-run policies after downtime, long downtime on an
 * every-second expression, and what a schedule accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../services/core/config/config';
import { cronClock, cronProblem, MISSED_COUNT_CAP, planTicks, timeZoneProblem, upcomingRuns } from '../../services/core/schedules/cron-times';
import type { MissedPolicy } from '../../services/core/schedules/schedule';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Local wall-clock parts of an instant in a zone: date, time and UTC offset. */
function local(d: Date, timeZone: string): { date: string; time: string; hour: number; offset: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}`, hour: Number(parts.hour), offset: parts.timeZoneName! };
}

/**
 * A ticker simulated with an injected clock: created at `from`, polled every `stepMs` until `to`,
 * each poll planning the due ticks as the real ticker does. Returns every tick that got a task.
 */
function simulate(cron: string, timeZone: string, from: Date, to: Date, stepMs = 30 * SECOND, missed: MissedPolicy = 'run_once'): Date[] {
  const clock = cronClock(cron, timeZone);
  let nextRunAt = clock.next(from);
  const created: Date[] = [];
  for (let now = from.getTime() + stepMs; now <= to.getTime() && nextRunAt; now += stepMs) {
    if (nextRunAt.getTime() > now) continue;
    const plan = planTicks({ clock, nextRunAt, now: new Date(now), missed, missedAfterMs: MINUTE, maxTicks: 1_000 });
    assert.equal(plan.skippedMissed, 0, 'polls every 30 s within a 60 s grace window miss nothing');
    created.push(...plan.ticks);
    nextRunAt = plan.nextRunAt;
  }
  return created;
}

const BERLIN = 'Europe/Berlin';
const distinct = (ticks: Date[]) => new Set(ticks.map((t) => t.getTime())).size === ticks.length;
const gaps = (ticks: Date[]) => ticks.slice(1).map((t, i) => t.getTime() - ticks[i]!.getTime());

describe('schedule ticks across DST (Europe/Berlin, injected time)', () => {
  it('spring forward (2026-03-29, 02:00 → 03:00): a fixed-time 02:30 job runs once, at the first valid time after the gap', () => {
    const ticks = simulate('0 30 2 * * *', BERLIN, new Date('2026-03-27T12:00:00Z'), new Date('2026-03-31T12:00:00Z'));
    assert.ok(distinct(ticks));
    const byDate = new Map(ticks.map((t) => [local(t, BERLIN).date, local(t, BERLIN)]));
    assert.deepEqual([...byDate.keys()], ['2026-03-28', '2026-03-29', '2026-03-30', '2026-03-31'], 'one run per day');
    assert.equal(ticks.length, 4);
    // 02:30 does not exist that night; the first valid local time after the gap is 03:00 (summer time).
    assert.deepEqual(byDate.get('2026-03-29'), { date: '2026-03-29', time: '03:00:00', hour: 3, offset: 'GMT+02:00' });
    for (const d of ['2026-03-28', '2026-03-30', '2026-03-31']) assert.equal(byDate.get(d)!.time, '02:30:00');
  });

  it('spring forward: an every-30-minutes job skips the local times in the gap and keeps a 30-minute UTC rhythm', () => {
    const ticks = simulate('0 */30 * * * *', BERLIN, new Date('2026-03-28T21:59:00Z'), new Date('2026-03-29T04:00:00Z'));
    assert.ok(distinct(ticks));
    assert.ok(ticks.length >= 11, `${ticks.length} ticks`);
    assert.deepEqual(ticks.filter((t) => local(t, BERLIN).date === '2026-03-29' && local(t, BERLIN).hour === 2), [], 'no tick at a local 02:xx that does not exist');
    assert.deepEqual(new Set(gaps(ticks)), new Set([30 * MINUTE]));
  });

  it('fall back (2026-10-25, 03:00 → 02:00): a fixed-time 02:30 job runs once, on the first occurrence', () => {
    const ticks = simulate('0 30 2 * * *', BERLIN, new Date('2026-10-23T12:00:00Z'), new Date('2026-10-27T12:00:00Z'));
    assert.ok(distinct(ticks));
    const onTheDay = ticks.filter((t) => local(t, BERLIN).date === '2026-10-25');
    assert.equal(onTheDay.length, 1, 'the repeated 02:30 runs once');
    assert.deepEqual(local(onTheDay[0]!, BERLIN), { date: '2026-10-25', time: '02:30:00', hour: 2, offset: 'GMT+02:00' }, 'the first occurrence is still summer time');
    assert.equal(ticks.length, 4);
  });

  it('fall back: an every-30-minutes job runs on both occurrences of the repeated hour, each a distinct UTC tick', () => {
    const ticks = simulate('0 */30 * * * *', BERLIN, new Date('2026-10-24T21:59:00Z'), new Date('2026-10-25T04:00:00Z'));
    assert.ok(distinct(ticks));
    const repeated = ticks.filter((t) => local(t, BERLIN).date === '2026-10-25' && local(t, BERLIN).hour === 2).map((t) => local(t, BERLIN));
    assert.deepEqual(
      repeated.map((l) => `${l.time} ${l.offset}`),
      ['02:00:00 GMT+02:00', '02:30:00 GMT+02:00', '02:00:00 GMT+01:00', '02:30:00 GMT+01:00'],
    );
    assert.deepEqual(new Set(gaps(ticks)), new Set([30 * MINUTE]));
  });
});

describe('planTicks', () => {
  const T = new Date('2026-06-01T10:00:00Z');
  const everySecond = cronClock('* * * * * *', 'UTC');
  const everyMinute = cronClock('0 * * * * *', 'UTC');

  it('gives every tick within the grace window a task (a ticker a few polls late catches up)', () => {
    const p = planTicks({ clock: everySecond, nextRunAt: T, now: new Date(T.getTime() + 3_500), missed: 'skip', missedAfterMs: 10 * SECOND, maxTicks: 100 });
    assert.deepEqual(p.ticks.map((t) => t.getTime() - T.getTime()), [0, 1_000, 2_000, 3_000]);
    assert.equal(p.skippedMissed, 0);
    assert.equal(p.nextRunAt!.getTime() - T.getTime(), 4_000);
    assert.equal(p.lastTick!.getTime() - T.getTime(), 3_000);
  });

  // Down from just before T until T + 10 min 5 s; a tick older than 60 s is missed.
  const downUntil = new Date(T.getTime() + 10 * MINUTE + 5 * SECOND);
  const missedTicks = 10; // T … T+9 min: more than 60 s behind `downUntil`
  it('missed run_once: one task for the most recent missed tick, then the on-time one, and on from the next tick', () => {
    const p = planTicks({ clock: everyMinute, nextRunAt: T, now: downUntil, missed: 'run_once', missedAfterMs: MINUTE, maxTicks: 100 });
    assert.deepEqual(p.ticks.map((t) => (t.getTime() - T.getTime()) / MINUTE), [missedTicks - 1, 10]);
    assert.equal(p.skippedMissed, missedTicks - 1);
    assert.equal((p.nextRunAt!.getTime() - T.getTime()) / MINUTE, 11);
  });

  it('missed skip: no task for any missed tick', () => {
    const p = planTicks({ clock: everyMinute, nextRunAt: T, now: downUntil, missed: 'skip', missedAfterMs: MINUTE, maxTicks: 100 });
    assert.deepEqual(p.ticks.map((t) => (t.getTime() - T.getTime()) / MINUTE), [10]);
    assert.equal(p.skippedMissed, missedTicks);
  });

  it('a day of downtime on an every-second expression: one task, no walk through 86,400 ticks', () => {
    const now = new Date(T.getTime() + 24 * HOUR);
    const started = performance.now();
    const p = planTicks({ clock: everySecond, nextRunAt: T, now, missed: 'run_once', missedAfterMs: MINUTE, maxTicks: 1 });
    assert.ok(performance.now() - started < 2_000, 'bounded work');
    assert.equal(p.ticks.length, 1);
    assert.equal(now.getTime() - p.ticks[0]!.getTime(), MINUTE + SECOND, 'the most recent tick more than the grace window behind');
    assert.equal(p.skippedMissed, MISSED_COUNT_CAP, 'counted up to the cap (+1 for the latest, −1 for the one run)');
    assert.ok(p.nextRunAt!.getTime() <= now.getTime(), 'the on-time ticks stay due: maxTicks cut the round short');
  });

  it('leaves what maxTicks cuts off due for the next round', () => {
    const p = planTicks({ clock: everySecond, nextRunAt: T, now: new Date(T.getTime() + 5_000), missed: 'skip', missedAfterMs: MINUTE, maxTicks: 2 });
    assert.equal(p.ticks.length, 2);
    assert.equal(p.nextRunAt!.getTime(), p.ticks[1]!.getTime() + SECOND);
  });

  it('shows the next run times from the next unhandled tick, or from now while paused', () => {
    const runs = upcomingRuns(everyMinute, { paused: false, nextRunAt: T }, new Date(T.getTime() - 5 * MINUTE), 5);
    assert.deepEqual(runs.map((r) => (r.getTime() - T.getTime()) / MINUTE), [0, 1, 2, 3, 4]);
    const now = new Date(T.getTime() + 30 * SECOND);
    const paused = upcomingRuns(everyMinute, { paused: true, nextRunAt: T }, now, 5);
    assert.ok(paused.every((r) => r > now) && paused.length === 5);
  });
});

describe('what a schedule accepts', () => {
  const now = new Date('2026-06-01T10:00:00Z');
  it('refuses invalid expressions, dates, expressions without a future tick, and zones that are not IANA names', () => {
    assert.match(cronProblem('61 * * * *', 'UTC', now)!, /minute/);
    assert.match(cronProblem('* * * *', 'UTC', now)!, /parts/);
    assert.match(cronProblem('2030-01-23T00:00:00', 'UTC', now)!, /not a cron expression/);
    assert.match(cronProblem('0 0 30 2 *', 'UTC', now)!, /no tick in the future/);
    assert.equal(cronProblem('*/1 * * * * *', 'Europe/Berlin', now), null);
    assert.equal(cronProblem('@hourly', 'UTC', now), null);
    assert.match(timeZoneProblem('Mars/Phobos')!, /unknown time zone/);
    assert.match(timeZoneProblem('+01:00')!, /IANA/);
    assert.equal(timeZoneProblem('America/New_York'), null);
  });

  it('config: a grace window shorter than two polls is refused', () => {
    assert.throws(() => loadConfig({ SCHEDULE_POLL_MS: '1000', SCHEDULE_MISSED_AFTER_MS: '1500' }), /SCHEDULE_MISSED_AFTER_MS/);
    assert.equal(loadConfig({}).SCHEDULE_POLL_MS, 1_000);
  });
});
