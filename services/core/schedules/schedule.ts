/**
 * The schedule contract shared by the API (create, read, pause) and the ticker (core/schedules).
 *
 * Glossary
 * - schedule: a cron expression in a time zone plus the task to create at each of its ticks.
 * - tick: one instant (UTC) at which the cron expression fires; a schedule makes at most one task
 *   per tick (`tasks.schedule_id`, `tasks.schedule_tick`, unique together).
 * - next run (`next_run_at`): the schedule's next tick not yet handled; due when it is <= now()
 *   (PostgreSQL's clock, the same for every replica).
 * - missed tick: a tick more than SCHEDULE_MISSED_AFTER_MS behind now when the ticker reaches it
 *   (the ticker was down, or every API replica was); the `missed` policy decides what it gets.
 * - overlap: a tick that arrives while the schedule's previous task is still pending or
 *   processing; the `overlap` policy decides whether it gets a task.
 */

export const OVERLAP_POLICIES = ['allow', 'skip'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** run_once: one task for the most recent missed tick, then on as usual; skip: none for missed ticks. */
export const MISSED_POLICIES = ['run_once', 'skip'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** What happened to a tick (the `result` label of tasker_schedule_ticks_total). */
export const TICK_RESULTS = ['created', 'skipped_overlap', 'skipped_missed', 'skipped_unknown_type'] as const;
export type TickResult = (typeof TICK_RESULTS)[number];

/** A row of `schedules` as the application sees it. */
export interface Schedule {
  id: string;
  clientId: string;
  name: string | null;
  cron: string;
  timezone: string;
  type: string;
  payload: unknown;
  /** null: the task type's default, resolved when each task is created. */
  maxAttempts: number | null;
  timeoutMs: number | null;
  /** Priority of every task it creates (claim-next.ts). */
  priority: number;
  overlap: OverlapPolicy;
  missed: MissedPolicy;
  paused: boolean;
  /** The next tick not yet handled; null when the expression has no future tick. */
  nextRunAt: Date | null;
  lastTickAt: Date | null;
  lastTaskId: string | null;
  lastTickResult: TickResult | null;
  skippedTicks: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The row as PostgreSQL returns it. */
export interface ScheduleRow {
  id: string;
  client_id: string;
  name: string | null;
  cron: string;
  timezone: string;
  type: string;
  payload: unknown;
  max_attempts: number | null;
  timeout_ms: number | null;
  priority: number;
  overlap: OverlapPolicy;
  missed: MissedPolicy;
  paused: boolean;
  next_run_at: Date | null;
  last_tick_at: Date | null;
  last_task_id: string | null;
  last_tick_result: TickResult | null;
  /** bigint: pg returns it as text. */
  skipped_ticks: string | number;
  created_at: Date;
  updated_at: Date;
}

export function toSchedule(r: ScheduleRow): Schedule {
  return {
    id: r.id,
    clientId: r.client_id,
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    type: r.type,
    payload: r.payload,
    maxAttempts: r.max_attempts,
    timeoutMs: r.timeout_ms,
    priority: r.priority,
    overlap: r.overlap,
    missed: r.missed,
    paused: r.paused,
    nextRunAt: r.next_run_at,
    lastTickAt: r.last_tick_at,
    lastTaskId: r.last_task_id,
    lastTickResult: r.last_tick_result,
    skippedTicks: Number(r.skipped_ticks),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
