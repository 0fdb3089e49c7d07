/**
 * The webhook outbox (`webhook_deliveries`, written by a trigger when a task with a callback becomes
 * terminal). Any number of API replicas deliver at once: a claim takes due rows with SKIP LOCKED
 * and pushes their `next_attempt_at` one lease ahead, so a replica that dies mid-delivery leaves
 * the row due again after the lease (at least once). An outcome is written only by the claim that
 * made the attempt (fenced by the attempt number).
 */
import type { Db } from '../../core/db/database';
import { reviveDates, toTask, type TaskRow } from '../../core/db/task-row';
import { IN_SCOPE, isoText, scopeArgs, type Scope } from '../../core/tasks/state/sql-fragments';
import type { Task, TaskStatus } from '../../core/tasks/task';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  task_id: string;
  url: string;
  task_status: TaskStatus;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** What GET /tasks/:id shows of a task's callback. */
export interface TaskCallbackState {
  url: string;
  deliveries: Delivery[];
}

export interface ClaimedDelivery {
  id: string;
  url: string;
  /** This attempt's number (1 for the first). */
  attempt: number;
  task: Task;
}

export interface DeliveryRepository {
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  markDelivered(id: string, attempt: number, httpStatus: number): Promise<void>;
  /** `retryInMs` null: no further attempt (failed). */
  markFailed(id: string, attempt: number, f: { httpStatus: number | null; error: string; retryInMs: number | null }): Promise<void>;
  list(f: { status: DeliveryStatus; scope: Scope; limit: number }): Promise<Delivery[]>;
  /** Due again at once with a fresh attempt budget; null when not visible. */
  redeliver(id: string, scope: Scope): Promise<Delivery | null>;
}

/** A delivery row as the API shows it (timestamps in ISO 8601). */
export const DELIVERY_JSON = `jsonb_build_object(
  'id', d.id, 'task_id', d.task_id, 'url', d.url, 'task_status', d.task_status, 'status', d.status,
  'attempts', d.attempts, 'next_attempt_at', CASE WHEN d.status = 'pending' THEN ${isoText('d.next_attempt_at')} END,
  'last_status', d.last_status, 'last_error', d.last_error,
  'created_at', ${isoText('d.created_at')},
  'delivered_at', ${isoText('d.delivered_at')})`;

export function createDeliveryRepository(db: Db): DeliveryRepository {
  return {
    async claimDue(limit, leaseMs) {
      const r = await db.raw<{ rows: { id: string; url: string; attempts: number; task: TaskRow }[] }>(
        `WITH due AS (
           SELECT id FROM webhook_deliveries
            WHERE status = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED
         ), claimed AS (
           UPDATE webhook_deliveries d
              SET attempts = d.attempts + 1, next_attempt_at = now() + ?::double precision * interval '1 millisecond', updated_at = now()
             FROM due WHERE d.id = due.id
           RETURNING d.id, d.task_id, d.url, d.attempts
         )
         SELECT c.id, c.url, c.attempts, to_jsonb(t) AS task FROM claimed c JOIN tasks t ON t.id = c.task_id`,
        [limit, leaseMs],
      );
      return r.rows.map((row) => ({ id: row.id, url: row.url, attempt: row.attempts, task: toTask(reviveDates(row.task)) }));
    },

    async markDelivered(id, attempt, httpStatus) {
      await db.raw(
        `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = ?, last_error = NULL, updated_at = now()
          WHERE id = ? AND status = 'pending' AND attempts = ?`,
        [httpStatus, id, attempt],
      );
    },

    async markFailed(id, attempt, f) {
      await db.raw(
        `UPDATE webhook_deliveries
            SET status = CASE WHEN ?::double precision IS NULL THEN 'failed' ELSE 'pending' END,
                next_attempt_at = coalesce(now() + ?::double precision * interval '1 millisecond', next_attempt_at),
                last_status = ?, last_error = left(?, 1000), updated_at = now()
          WHERE id = ? AND status = 'pending' AND attempts = ?`,
        [f.retryInMs, f.retryInMs, f.httpStatus, f.error, id, attempt],
      );
    },

    async list(f) {
      const r = await db.raw<{ rows: { d: Delivery }[] }>(
        // client_id is a column of tasks only, so the scope fragment reads it unqualified.
        `SELECT ${DELIVERY_JSON} AS d FROM webhook_deliveries d JOIN tasks ON tasks.id = d.task_id
          WHERE d.status = ? AND ${IN_SCOPE} ORDER BY d.updated_at DESC LIMIT ?`,
        [f.status, ...scopeArgs(f.scope), f.limit],
      );
      return r.rows.map((row) => row.d);
    },

    async redeliver(id, scope) {
      const r = await db.raw<{ rows: { d: Delivery }[] }>(
        `WITH again AS (
           UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
             FROM tasks WHERE d.id = ? AND tasks.id = d.task_id AND ${IN_SCOPE}
           RETURNING d.*
         )
         SELECT ${DELIVERY_JSON} AS d FROM again d`,
        [id, ...scopeArgs(scope)],
      );
      return r.rows[0]?.d ?? null;
    },
  };
}

