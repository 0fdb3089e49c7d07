/**
 * The request schemas of the task endpoints: the service validates with them, and the OpenAPI
 * document (routes/openapi.ts) is generated from the same objects, so the contract clients
 * generate code from cannot drift from what the API accepts.
 */
import { z } from 'zod';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../core/tasks/state/claim-next';
import { TASK_STATUSES, type FailureReason } from '../../core/tasks/task';

export interface SchemaLimits {
  timeoutCeilingMs: number;
  listMaxLimit: number;
  replayMaxBatch: number;
  batchMaxTasks: number;
  waitMaxSeconds: number;
  maxDelayMs: number;
}

export type TaskSchemas = ReturnType<typeof taskSchemas>;

/** A validation failure as `details.issues` of a 4xx answer. */
export function issuesOf(e: z.ZodError): { path: string; message: string }[] {
  return e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

const taskType = z.string().min(1).max(100);

/** A task's priority (claim-next.ts); tasks and schedules take the same range. */
export const priorityField = z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX);

/** Any JSON value; one object, so the OpenAPI document names it once (`JsonValue`). */
export const jsonValue = z.json();

export function taskSchemas(o: SchemaLimits) {
  const submission = z
    .strictObject({
      type: taskType.optional().meta({ description: 'Task type (default `simulate`); see the 400 `unknown_type` answer for the known types.' }),
      payload: jsonValue,
      timeout_ms: z.number().int().min(1).max(o.timeoutCeilingMs).optional().meta({ description: 'Per-task timeout, up to the ceiling.' }),
      callback: z
        .url({ protocol: /^https?$/ })
        .max(2048)
        .optional()
        .meta({ description: 'URL that gets a signed POST (Standard Webhooks) when the task is terminal; private addresses are refused at delivery.' }),
      priority: priorityField
        .optional()
        .meta({ description: `${PRIORITY_MIN}…${PRIORITY_MAX}, default 0: among the same client's due tasks of a type, higher starts first; between clients the fair share decides first (README "Who runs next").` }),
      run_at: z.iso
        .datetime({ offset: true })
        .optional()
        .meta({ description: `Start no earlier than this instant (RFC 3339), at most ${o.maxDelayMs} ms ahead; not with delay_ms. A past instant starts now.` }),
      delay_ms: z
        .number()
        .int()
        .min(0)
        .max(o.maxDelayMs)
        .optional()
        .meta({ description: 'Start no earlier than this many milliseconds after the task is stored; not with run_at.' }),
    });
  const batchItem = submission
    .extend({
      idempotency_key: z.string().regex(/^[\x21-\x7e]{1,255}$/).optional().meta({ description: "This item's Idempotency-Key (1-255 printable ASCII)." }),
    });
  const batchTasks = z.array(batchItem).min(1).max(o.batchMaxTasks);
  const batch = z
    .strictObject({ tasks: batchTasks })
    .meta({ description: `Up to ${o.batchMaxTasks} tasks, stored in one transaction: all of them or none.` });
  /** The envelope alone: items are validated one by one, so that every failing item is named. */
  const batchEnvelope = z.strictObject({ tasks: z.array(z.unknown()).min(1).max(o.batchMaxTasks) });
  const wait = z
    .object({
      wait: z.coerce
        .number()
        .min(0)
        .max(o.waitMaxSeconds)
        .optional()
        .meta({ description: `Seconds (up to ${o.waitMaxSeconds}) to wait for the task to become terminal before answering.` }),
    });
  const listQuery = z.strictObject({
    status: z.enum(TASK_STATUSES).optional(),
    type: taskType.optional(),
    created_after: z.iso.datetime({ offset: true }).optional().meta({ description: 'Only tasks created at or after this instant (RFC 3339).' }),
    created_before: z.iso.datetime({ offset: true }).optional().meta({ description: 'Only tasks created before this instant (RFC 3339).' }),
    q: z.string().min(1).max(200).optional().meta({ description: 'Only tasks with an error message containing this text (case-insensitive).' }),
    limit: z.coerce.number().int().min(1).max(o.listMaxLimit).default(Math.min(50, o.listMaxLimit)),
    cursor: z.string().max(200).optional(),
  });
  const replayBody = z
    .strictObject({
      type: taskType.optional(),
      reason: z.enum(['error', 'timeout', 'permanent', 'crashed'] satisfies FailureReason[]).optional(),
      limit: z.number().int().min(1).max(o.replayMaxBatch).default(Math.min(100, o.replayMaxBatch)),
      dry_run: z.boolean().default(false).meta({ description: 'Change nothing: answer how many tasks would be replayed and over how long.' }),
    });
  return { submission, batchItem, batch, batchEnvelope, wait, listQuery, replayBody };
}
