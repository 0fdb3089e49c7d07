/**
 * When a schedule fires: its cron expression read by croner in its IANA time zone, ticks as UTC
 * instants. Pure (the current time is always an argument), so DST and downtime are tested without
 * waiting for the clock.
 *
 * DST is what croner defines (Vixie cron's rules, README "Schedules"): a fixed-time expression
 * (one value each for second, minute and hour, e.g. `0 30 2 * * *`) whose local time does not exist
 * (spring forward) fires at the first valid time after the gap, and once on the first occurrence of
 * a local time that happens twice (fall back); an interval expression (`*`, a step, a list or a
 * range in those fields) skips the times in the gap and fires on both occurrences of a repeated
 * time. Either way every tick is a distinct UTC instant, so one task per (schedule, tick) holds.
 */
import { Cron } from 'croner';
import type { MissedPolicy } from './schedule';

/** An IANA zone name (`Europe/Berlin`, `UTC`, `Etc/GMT+5`); raw offsets such as `+01:00` are refused. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/** Missed ticks counted one by one at most this many per round (each costs a croner step). */
export const MISSED_COUNT_CAP = 1_000;

/** Why `timezone` is not usable, or null. */
export function timeZoneProblem(timezone: string): string | null {
  if (!ZONE_NAME.test(timezone)) return 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return null;
  } catch {
    return `unknown time zone "${timezone}"`;
  }
}

/** A cron expression's ticks in one time zone. */
export interface CronClock {
  /** The first tick strictly after `after`, or null when there is none. */
  next(after: Date): Date | null;
  /** The next `n` ticks strictly after `after`. */
  nextN(after: Date, n: number): Date[];
  /** The last tick strictly before `before`, or null. */
  previous(before: Date): Date | null;
}

/**
 * Throws croner's error for an invalid expression. Five fields (minute precision) or six (seconds
 * first) and croner's nicknames (`@hourly`); a date string, which croner reads as "once at", is refused.
 */
export function cronClock(cron: string, timezone: string): CronClock {
  // paused and no callback: croner starts no timer, the object only computes.
  const job = new Cron(cron, { timezone, paused: true, mode: '5-or-6-parts' });
  if (job.getOnce() !== null) throw new Error('a date is not a cron expression');
  return {
    next: (after) => job.nextRun(after) ?? null,
    nextN: (after, n) => job.nextRuns(n, after),
    previous: (before) => job.previousRuns(1, before)[0] ?? null,
  };
}

/** Why `cron` cannot be a schedule in `timezone` (invalid, or no tick after `now`), or null. */
export function cronProblem(cron: string, timezone: string, now: Date): string | null {
  let clock: CronClock;
  try {
    clock = cronClock(cron, timezone);
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e);
  }
  return clock.next(now) === null ? 'the expression has no tick in the future' : null;
}

export interface TickPlanInput {
  clock: CronClock;
  /** The schedule's next tick not yet handled (due: <= now). */
  nextRunAt: Date;
  /** PostgreSQL's now() (or a test's clock): never the process clock, so replicas agree. */
  now: Date;
  missed: MissedPolicy;
  /** A tick more than this far behind `now` is missed (SCHEDULE_MISSED_AFTER_MS). */
  missedAfterMs: number;
  /** Most on-time ticks planned in one round; the rest stay due for the next one. */
  maxTicks: number;
}

export interface TickPlan {
  /** Ticks that get a task unless the overlap policy says no, oldest first. */
  ticks: Date[];
  /** Missed ticks that get no task (counted up to MISSED_COUNT_CAP, plus the latest one). */
  skippedMissed: number;
  /** The first tick this plan did not handle (still due if `maxTicks` cut it short); null: none left. */
  nextRunAt: Date | null;
  /** The latest tick this plan handled (with or without a task); null: none. */
  lastTick: Date | null;
}

/**
 * Which ticks from `nextRunAt` up to `now` get a task. Ticks within the grace window all do (a
 * ticker that was a few polls late catches up); older ones are missed: `run_once` makes one task
 * for the most recent of them, `skip` none. Either way the schedule then continues from the next
 * tick, without a burst.
 */
export function planTicks(p: TickPlanInput): TickPlan {
  const graceStart = p.now.getTime() - p.missedAfterMs;
  const ticks: Date[] = [];
  let skippedMissed = 0;
  let lastTick: Date | null = null;
  let t: Date | null = p.nextRunAt;
  if (t.getTime() < graceStart) {
    let latestMissed = t;
    let count = 0;
    while (t && t.getTime() < graceStart && count < MISSED_COUNT_CAP) {
      latestMissed = t;
      count += 1;
      t = p.clock.next(t);
    }
    if (t && t.getTime() < graceStart) {
      // Long downtime on a fine-grained expression: jump to the latest missed tick instead of
      // stepping through every one of them.
      const latest = p.clock.previous(new Date(graceStart));
      if (latest && latest.getTime() > latestMissed.getTime()) {
        latestMissed = latest;
        count += 1;
      }
      t = p.clock.next(latestMissed);
    }
    lastTick = latestMissed;
    if (p.missed === 'run_once') {
      ticks.push(latestMissed);
      skippedMissed = count - 1;
    } else {
      skippedMissed = count;
    }
  }
  while (t && t.getTime() <= p.now.getTime() && ticks.length < p.maxTicks) {
    ticks.push(t);
    lastTick = t;
    t = p.clock.next(t);
  }
  return { ticks, skippedMissed, nextRunAt: t, lastTick };
}

/**
 * The next `n` run times to show on a schedule: from its next unhandled tick, or, while paused,
 * those a resume now would give (resuming continues from the first tick after now).
 */
export function upcomingRuns(clock: CronClock, s: { paused: boolean; nextRunAt: Date | null }, now: Date, n: number): Date[] {
  if (s.paused) return clock.nextN(now, n);
  if (!s.nextRunAt) return [];
  return [s.nextRunAt, ...clock.nextN(s.nextRunAt, n - 1)];
}
