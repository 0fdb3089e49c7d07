/**
 * What the schedule endpoints answer, as zod schemas: `presentSchedule` is typed by them and the
 * OpenAPI document (openapi.ts) is generated from them.
 */
import { z } from 'zod';
import { MISSED_POLICIES, OVERLAP_POLICIES, TICK_RESULTS } from '../../core/schedules/schedule';
import type { ScheduleWithRuns } from '../domain/schedule.service';
import { jsonValue } from '../domain/task-schemas';

const timestamp = z.iso.datetime();

export const scheduleView = z.object({
  schedule_id: z.uuid(),
  name: z.string().nullable(),
  cron: z.string(),
  timezone: z.string(),
  type: z.string(),
  payload: jsonValue,
  max_attempts: z.int().nullable().meta({ description: "null: the task type's default." }),
  timeout_ms: z.int().nullable().meta({ description: "null: the task type's default." }),
  priority: z.int(),
  overlap: z.enum(OVERLAP_POLICIES),
  missed: z.enum(MISSED_POLICIES),
  paused: z.boolean(),
  next_run_at: timestamp.nullable().meta({ description: 'The next tick not yet handled (null: the expression has no future tick).' }),
  next_runs: z
    .array(timestamp)
    .optional()
    .meta({ description: 'Single reads and writes only: the next run times (UTC) from the cron expression in its time zone; while paused, those a resume now would give.' }),
  last_tick_at: timestamp.nullable().meta({ description: 'The latest tick handled, with or without a task.' }),
  last_task_id: z.uuid().nullable(),
  last_tick_result: z.enum(TICK_RESULTS).nullable(),
  skipped_ticks: z.int().meta({ description: 'Ticks that got no task (overlap, missed, or a task type no longer installed).' }),
  created_at: timestamp,
  updated_at: timestamp,
});
export type ScheduleView = z.infer<typeof scheduleView>;

export const scheduleList = z.object({
  schedules: z.array(scheduleView),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
});

export function presentSchedule(s: ScheduleWithRuns): ScheduleView {
  return {
    schedule_id: s.id,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    type: s.type,
    payload: s.payload as ScheduleView['payload'],
    max_attempts: s.maxAttempts,
    timeout_ms: s.timeoutMs,
    priority: s.priority,
    overlap: s.overlap,
    missed: s.missed,
    paused: s.paused,
    next_run_at: s.nextRunAt?.toISOString() ?? null,
    ...(s.nextRuns === undefined ? {} : { next_runs: s.nextRuns.map((d) => d.toISOString()) }),
    last_tick_at: s.lastTickAt?.toISOString() ?? null,
    last_task_id: s.lastTaskId,
    last_tick_result: s.lastTickResult,
    skipped_ticks: s.skippedTicks,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}
