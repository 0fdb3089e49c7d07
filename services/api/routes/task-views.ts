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
  at: z.string(),
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
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
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

export const replayResult = z.object({ replayed: z.int(), spread_ms: z.int() });

export const errorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-readable.' }),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The public representation of a task (snake_case, as in the original service). */
export function presentTask(t: Task & { callback?: TaskView['callback'] }): TaskView {
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
    finished_at: t.finishedAt?.toISOString() ?? null,
    ...(t.callback === undefined ? {} : { callback: t.callback }),
  };
}
