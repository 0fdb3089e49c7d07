/**
 * What the task endpoints answer, as zod schemas: `presentTask` is typed by them and the OpenAPI
 * document (openapi.ts) is generated from them.
 */
import { z } from 'zod';
import { TASK_STATUSES, type Task } from '../../core/tasks/task';
import { jsonValue } from '../domain/task-schemas';

const taskError = z.object({
  reason: z.enum(['error', 'timeout', 'permanent', 'crashed']),
  message: z.string(),
  attempt: z.int(),
  at: z.string().meta({ description: 'When the attempt failed.' }),
  started_at: z.string().nullable().optional().meta({ description: 'When the failed attempt started (absent on errors recorded before it was kept).' }),
});

const timestamp = z.iso.datetime();

export const deliveryView = z.object({
  id: z.uuid().meta({ description: 'Also the `webhook-id` header of every attempt (the same across retries).' }),
  task_id: z.uuid(),
  url: z.string(),
  task_status: z.enum(TASK_STATUSES).meta({ description: 'The terminal status the delivery announces.' }),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.int(),
  next_attempt_at: timestamp.nullable(),
  last_status: z.int().nullable().meta({ description: 'HTTP status of the last attempt (null: no answer).' }),
  last_error: z.string().nullable(),
  created_at: timestamp,
  delivered_at: timestamp.nullable(),
});

export const deliveryList = z.object({ deliveries: z.array(deliveryView) });

export const taskView = z.object({
  task_id: z.uuid(),
  type: z.string(),
  status: z.enum(TASK_STATUSES),
  payload: jsonValue,
  /** What the handler returned (done), else null. */
  result: jsonValue,
  error: taskError.nullable().meta({ description: 'The last failed attempt, or null.' }),
  errors: z.array(taskError).meta({ description: 'Every failed attempt, oldest first (the newest 20).' }),
  attempts: z.int(),
  max_attempts: z.int(),
  timeout_ms: z.int(),
  priority: z.int().meta({ description: '−10…10; higher starts first among its owner’s due tasks of the type.' }),
  schedule_id: z.uuid().nullable().meta({ description: 'The schedule that created the task (its trace starts at that tick), or null.' }),
  run_after: timestamp.meta({ description: 'Not started before this instant (the due time of a delayed task, or of its next retry).' }),
  created_at: timestamp,
  updated_at: timestamp,
  started_at: timestamp.nullable().meta({ description: 'First start of the task (cleared by POST /tasks/{id}/retry).' }),
  attempt_started_at: timestamp.nullable().meta({ description: 'Start of the current or last attempt.' }),
  finished_at: timestamp.nullable(),
  trace_id: z.string().nullable().meta({ description: 'W3C trace id the task runs under (every attempt joins it), or null.' }),
  trace_url: z.string().nullable().meta({ description: 'The trace in a trace viewer (TRACE_URL_TEMPLATE), or null when not configured.' }),
  callback: z
    .object({ url: z.string(), deliveries: z.array(deliveryView) })
    .nullable()
    .optional()
    .meta({ description: 'GET /tasks/{id} only: the completion webhook and its deliveries (null: none).' }),
});
export type TaskView = z.infer<typeof taskView>;

export const submitAccepted = z.object({ task_id: z.uuid(), status: z.literal('pending') });

export const batchAccepted = z.object({
  tasks: z
    .array(submitAccepted.extend({ replayed: z.boolean().meta({ description: 'Answered from an earlier request with the same idempotency_key.' }) }))
    .meta({ description: 'One entry per submitted task, in request order.' }),
});

export const taskList = z.object({
  tasks: z.array(taskView),
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
});

export const replayResult = z.object({
  replayed: z.int().meta({ description: 'Tasks replayed (0 on a dry run).' }),
  matched: z.int().meta({ description: 'Tasks the filter took (on a dry run: would take), at most `limit`.' }),
  spread_ms: z.int().meta({ description: 'How long their release is spread over (REPLAY_RATE_PER_SECOND).' }),
  rate_per_second: z.int(),
});

export const errorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-readable.' }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), or null. */
export function traceIdOf(t: Pick<Task, 'traceContext'>): string | null {
  const id = t.traceContext?.traceparent?.split('-')[1];
  return id !== undefined && /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id) ? id : null;
}

/**
 * The public representation of a task (snake_case, as in the original service). `traceUrlTemplate`
 * (TRACE_URL_TEMPLATE) builds `trace_url`; empty: null.
 */
export function presentTask(t: Task & { callback?: TaskView['callback'] }, traceUrlTemplate = ''): TaskView {
  const traceId = traceIdOf(t);
  return {
    task_id: t.id,
    type: t.type,
    status: t.status,
    payload: t.payload as TaskView['payload'],
    result: (t.result ?? null) as TaskView['result'],
    error: t.error ?? null,
    errors: t.errors,
    attempts: t.attempts,
    max_attempts: t.maxAttempts,
    timeout_ms: t.timeoutMs,
    priority: t.priority,
    schedule_id: t.scheduleId,
    run_after: t.runAfter.toISOString(),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    started_at: t.startedAt?.toISOString() ?? null,
    attempt_started_at: t.attemptStartedAt?.toISOString() ?? null,
    finished_at: t.finishedAt?.toISOString() ?? null,
    trace_id: traceId,
    trace_url: traceId !== null && traceUrlTemplate !== '' ? traceUrlTemplate.replaceAll('{trace_id}', traceId) : null,
    ...(t.callback === undefined ? {} : { callback: t.callback }),
  };
}

export const whoAmI = z.object({
  client_id: z.string().meta({ description: 'The client the credential belongs to (empty with AUTH_MODE=none).' }),
  admin: z.boolean().meta({ description: 'Sees and acts on every client\'s tasks.' }),
});

const perMinute = z.array(z.int()).meta({ description: 'Per bucket, oldest first; the last bucket is the current minute.' });

export const overviewView = z.object({
  generated_at: timestamp,
  series_start: timestamp.meta({ description: 'Start of the first bucket of every series.' }),
  bucket_seconds: z.int(),
  buckets: z.int(),
  types: z.array(
    z.object({
      type: z.string(),
      pending_due: z.int(),
      pending_delayed: z.int().meta({ description: 'Pending, not due yet (run_at/delay_ms, or a retry backing off).' }),
      running: z.int(),
      oldest_pending_age_ms: z.int().nullable().meta({ description: 'How long the oldest due task has waited since it became due; null: none.' }),
      dead_letters: z.int().meta({ description: 'Tasks in status failed (out of attempts), all time.' }),
      last_hour: z.object({ done: z.int(), failed: z.int(), cancelled: z.int() }).meta({ description: 'Finished since series_start.' }),
      series: z.object({ done: perMinute, failed: perMinute }),
    }),
  ).meta({ description: 'Every registered type, and any other type with tasks in view; scoped to the caller unless admin.' }),
});

export type WhoAmI = z.infer<typeof whoAmI>;
export type OverviewView = z.infer<typeof overviewView>;
