/**
 * The schedule ticker: every SCHEDULE_POLL_MS, tick rounds (tick.ts) until no schedule is due. It
 * runs in every API replica — the API always runs, while worker groups may be scaled to zero —
 * with no leader: replicas take different schedules (SKIP LOCKED), and the unique
 * (schedule_id, schedule_tick) index makes even a double round create one task per tick.
 *
 * A created task is published at once (`dispatch`, the API's dispatcher: latency). If this process
 * dies between the commit and the publish, nothing is lost: the task is a pending row whose
 * publish was never confirmed, and the outbox sweeper publishes it after SWEEP_UNCONFIRMED_AFTER_MS.
 */
import type { Db } from '../db/database';
import { createPeriodic } from '../lifecycle/periodic';
import type { Logger } from '../log/logger';
import type { TaskTypeDefinition } from '../tasks/task-types';
import type { Context } from '../telemetry/tracing';
import type { TickResult } from './schedule';
import { ScheduleTickError, tickOneDue } from './tick';

/** Schedules handled per poll at most; more due ones wait for the next poll (a stop waits for at most this many). */
const MAX_ROUNDS_PER_POLL = 1_000;
/** Ticks of one schedule per round at most (an every-second expression after a long pause of the ticker). */
const MAX_TICKS_PER_ROUND = 1_000;

export interface ScheduleTickerDeps {
  db: Db;
  types: readonly TaskTypeDefinition[];
  pollMs: number;
  missedAfterMs: number;
  logger: Logger;
  /** Publishes a committed task (in the context of its `schedule tick` span). */
  dispatch: (task: { id: string; type: string }, context: Context) => void;
  onTicks?: (result: TickResult, n: number) => void;
  /** How late (seconds after its tick) a task was created. */
  onLag?: (seconds: number) => void;
  /** Tests only: the instant ticks are computed against, instead of PostgreSQL's now(). */
  now?: () => Date;
}

export interface ScheduleTicker {
  start(): void;
  /** Stops polling and waits for the round in progress; safe twice or before start. */
  stop(): Promise<void>;
  /** One poll now: tick rounds until nothing is due. */
  runNow(): Promise<void>;
}

export function createScheduleTicker(d: ScheduleTickerDeps): ScheduleTicker {
  const log = d.logger.child({ module: 'schedule-ticker' });
  const settings = {
    missedAfterMs: d.missedAfterMs,
    maxTicksPerRound: MAX_TICKS_PER_ROUND,
    types: new Map(d.types.map((t) => [t.name, t])),
  };
  let stopping = false;

  async function poll(): Promise<void> {
    // A schedule whose round fails (a statement timeout, bad data) is passed over for the rest of
    // this poll, so it cannot hold back the schedules due after it; it is tried again next poll.
    const failed: string[] = [];
    for (let round = 0; round < MAX_ROUNDS_PER_POLL && !stopping; round++) {
      let outcome;
      try {
        outcome = await tickOneDue(d.db, settings, d.now?.() ?? null, failed);
      } catch (e) {
        if (!(e instanceof ScheduleTickError)) throw e;
        failed.push(e.scheduleId);
        log.warn({ err: e.cause, schedule_id: e.scheduleId }, 'schedule tick failed and rolled back; the schedule stays due and is tried again next poll');
        continue;
      }
      if (!outcome) return;
      for (const t of outcome.created) d.dispatch({ id: t.id, type: t.type }, t.context);
      for (const [result, n] of Object.entries(outcome.counts)) d.onTicks?.(result as TickResult, n);
      for (const s of outcome.lagSeconds) d.onLag?.(s);
      if (outcome.created.length > 0 || Object.keys(outcome.counts).length > 0) {
        log.debug({ schedule_id: outcome.scheduleId, ...outcome.counts, task_ids: outcome.created.map((c) => c.id) }, 'schedule ticked');
      }
    }
  }

  const periodic = createPeriodic('schedule-ticker', d.pollMs, poll, log);
  return {
    start: () => periodic.start(),
    async stop() {
      stopping = true;
      await periodic.stop();
    },
    runNow: () => periodic.runNow(),
  };
}
