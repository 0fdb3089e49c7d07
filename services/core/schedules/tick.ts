/**
 * One tick round of one schedule, in ONE transaction: claim a due schedule (FOR UPDATE SKIP
 * LOCKED, so replicas take different schedules), plan its due ticks (cron-times.ts), insert a task
 * per tick that gets one (insert-scheduled.ts: a tick that already has a task is left alone), and
 * advance `next_run_at`. A ticker that dies or times out anywhere before the commit leaves nothing:
 * no task, and `next_run_at` still due, so the next round (any replica) does the same work again.
 *
 * Due means `next_run_at <= now()` on PostgreSQL's clock, and the plan is computed against that
 * same instant: replicas whose own clocks disagree still agree on what is due.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database';
import { insertScheduledTask } from '../tasks/state/insert-scheduled';
import type { TaskTypeDefinition } from '../tasks/task-types';
import { ATTR, captureContext, ROOT_CONTEXT, SpanStatusCode, trace, tracer, type Context, type Span } from '../telemetry/tracing';
import { cronClock, planTicks } from './cron-times';
import { toSchedule, type ScheduleRow, type TickResult } from './schedule';

export interface TickSettings {
  /** SCHEDULE_MISSED_AFTER_MS */
  missedAfterMs: number;
  /** Most ticks of one schedule handled per round (the rest stay due). */
  maxTicksPerRound: number;
  /** The installation's task types: a task's defaults come from its type when it is created. */
  types: ReadonlyMap<string, TaskTypeDefinition>;
}

/** A task this round created, to publish after the commit. */
export interface CreatedScheduledTask {
  id: string;
  type: string;
  tick: Date;
  /** The `schedule tick` span's context: the publish joins the task's trace. */
  context: Context;
}

export interface TickOutcome {
  scheduleId: string;
  created: CreatedScheduledTask[];
  counts: Partial<Record<TickResult, number>>;
  /** now − tick, in seconds, of every created task (how late the schedule ran). */
  lagSeconds: number[];
}

/** A round failed after its schedule was claimed (and rolled back); the ticker moves on to others. */
export class ScheduleTickError extends Error {
  constructor(
    readonly scheduleId: string,
    cause: unknown,
  ) {
    super(`tick of schedule ${scheduleId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ScheduleTickError';
  }
}

const RUNNING = new Set(['pending', 'processing']);

/**
 * Handles the most overdue due schedule not in `exclude`; null when none is due. `now` replaces
 * PostgreSQL's now() (tests: DST and downtime without waiting); production passes null.
 */
export async function tickOneDue(db: Db, s: TickSettings, now: Date | null, exclude: readonly string[]): Promise<TickOutcome | null> {
  const spans: Span[] = [];
  let failed = false;
  try {
    return await db.transaction(async (trx) => {
      const claimed = await trx.raw<{ rows: (ScheduleRow & { tick_now: Date })[] }>(
        `SELECT *, coalesce(?::timestamptz, now()) AS tick_now FROM schedules
          WHERE NOT paused AND next_run_at <= coalesce(?::timestamptz, now()) AND id <> ALL(?::uuid[])
          ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now, now, [...exclude]],
      );
      const row = claimed.rows[0];
      if (!row) return null;
      const schedule = toSchedule(row);
      try {
        const tickNow = row.tick_now;
        const plan = planTicks({
          clock: cronClock(schedule.cron, schedule.timezone),
          nextRunAt: schedule.nextRunAt!,
          now: tickNow,
          missed: schedule.missed,
          missedAfterMs: s.missedAfterMs,
          maxTicks: s.maxTicksPerRound,
        });
        const counts: Partial<Record<TickResult, number>> = {};
        const count = (r: TickResult, n = 1) => {
          if (n > 0) counts[r] = (counts[r] ?? 0) + n;
        };
        count('skipped_missed', plan.skippedMissed);
        const created: CreatedScheduledTask[] = [];
        let lastResult: TickResult | null = plan.skippedMissed > 0 && plan.ticks.length === 0 ? 'skipped_missed' : null;
        const def = s.types.get(schedule.type);
        // overlap=skip: the previous task is the last one this schedule created (it creates in
        // tick order, and under `skip` at most one is ever unfinished), so one primary-key read.
        let busy = schedule.overlap === 'skip' && schedule.lastTaskId !== null && (await taskRunning(trx, schedule.lastTaskId));
        for (const tick of plan.ticks) {
          if (!def) {
            // Its type left the installation (an extension removed): a task no worker consumes helps no one.
            count('skipped_unknown_type');
            lastResult = 'skipped_unknown_type';
            continue;
          }
          if (busy) {
            count('skipped_overlap');
            lastResult = 'skipped_overlap';
            continue;
          }
          const id = randomUUID();
          // The task's trace starts at its schedule: a root span per tick, stored as the task's
          // trace context, so every attempt (and the publish) joins it.
          const span = tracer.startSpan(
            'schedule tick',
            { attributes: { [ATTR.SCHEDULE_ID]: schedule.id, [ATTR.SCHEDULE_TICK]: tick.toISOString(), [ATTR.TASK_ID]: id, [ATTR.TASK_TYPE]: def.name } },
            ROOT_CONTEXT,
          );
          spans.push(span);
          const context = trace.setSpan(ROOT_CONTEXT, span);
          const inserted = await insertScheduledTask(trx, {
            id,
            type: def.name,
            payload: schedule.payload,
            maxAttempts: schedule.maxAttempts ?? def.maxAttempts,
            timeoutMs: schedule.timeoutMs ?? def.timeoutMs,
            priority: schedule.priority,
            traceContext: captureContext(context),
            clientId: schedule.clientId,
            scheduleId: schedule.id,
            tick,
          });
          // Not inserted: this tick already has its task (another ticker got there); nothing to count.
          if (!inserted) continue;
          created.push({ id, type: def.name, tick, context });
          count('created');
          lastResult = 'created';
          busy = schedule.overlap === 'skip';
        }
        const skipped = (counts.skipped_missed ?? 0) + (counts.skipped_overlap ?? 0) + (counts.skipped_unknown_type ?? 0);
        await trx.raw(
          `UPDATE schedules
              SET next_run_at = ?, last_tick_at = coalesce(?, last_tick_at), last_task_id = coalesce(?, last_task_id),
                  last_tick_result = coalesce(?, last_tick_result), skipped_ticks = skipped_ticks + ?, updated_at = now()
            WHERE id = ?`,
          [plan.nextRunAt, plan.lastTick, created.at(-1)?.id ?? null, lastResult, skipped, schedule.id],
        );
        return {
          scheduleId: schedule.id,
          created,
          counts,
          lagSeconds: created.map((c) => Math.max(0, (tickNow.getTime() - c.tick.getTime()) / 1000)),
        };
      } catch (e) {
        throw new ScheduleTickError(schedule.id, e);
      }
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    for (const span of spans) {
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the tick transaction rolled back' });
      span.end();
    }
  }
}

async function taskRunning(db: Db, taskId: string): Promise<boolean> {
  const r = await db.raw<{ rows: { status: string }[] }>(`SELECT status FROM tasks WHERE id = ?`, [taskId]);
  return RUNNING.has(r.rows[0]?.status ?? '');
}
