/**
 * The worker's state changes on `tasks`. Every change is a compare-and-set on status and, once
 * claimed, on the lease token: a worker whose lease was taken over can never overwrite the new
 * owner's outcome.
 */
import type { Db } from '../../core/db/database';
import { toTask, type TaskRow } from '../../core/db/task-row';
import type { Task, TaskError } from '../../core/tasks/task';

export type FailOutcome = 'retried' | 'failed' | 'lease_lost';

export interface TaskStore {
  /**
   * pending + due → processing with a fresh lease, for many tasks in one statement. Returns the
   * rows claimed; a task missing from the result is someone else's, finished, or not yet due.
   */
  claimMany(ids: string[], token: string, leaseMs: number, workerId: string): Promise<Task[]>;
  /** Extends the leases; returns the ids whose lease is still ours. */
  heartbeatMany(leases: { id: string; token: string }[], leaseMs: number): Promise<Set<string>>;
  /** Fenced completion of many tasks without effects; returns the ids that were still ours. */
  completeMany(items: { id: string; token: string; resultJson: string }[]): Promise<Set<string>>;
  /** Fenced completion; `effects` run in the same transaction and commit only with it. */
  complete(id: string, token: string, resultJson: string, effects?: ((trx: Db) => Promise<void>)[]): Promise<boolean>;
  /** The current status (to tell a cancellation from a takeover after a lost lease). */
  statusOf(id: string): Promise<string | null>;
  /** Records a failed attempt: back to pending at `retryAt`, or failed when `retryAt` is null. */
  fail(id: string, token: string, error: TaskError, retryAt: Date | null, refundAttempt: boolean): Promise<FailOutcome>;
  /** Gives the task back (drain timeout): pending now, the interrupted attempt not counted. */
  release(id: string, token: string): Promise<boolean>;
  /** Expired leases → pending (or failed when out of attempts). Returns how many were recovered. */
  reapExpired(limit: number): Promise<{ id: string; type: string; status: string }[]>;
}

export function createTaskStore(db: Db): TaskStore {
  return {
    // Multi-row updates lock their rows in id order first (ORDER BY id FOR UPDATE): two statements
    // that lock overlapping sets in the same order wait for each other instead of deadlocking.
    async claimMany(ids, token, leaseMs, workerId) {
      const r = await db.raw<{ rows: TaskRow[] }>(
        `WITH due AS (
           SELECT id FROM tasks WHERE id = ANY(?::uuid[]) AND status = 'pending' AND run_after <= now()
            ORDER BY id FOR UPDATE
         )
         UPDATE tasks t
            SET status = 'processing', attempts = t.attempts + 1, lease_token = ?,
                lease_expires_at = now() + ? * interval '1 millisecond', locked_by = ?,
                started_at = coalesce(t.started_at, now()), updated_at = now()
           FROM due WHERE t.id = due.id AND t.status = 'pending' AND t.run_after <= now()
        RETURNING t.*`,
        [ids, token, leaseMs, workerId],
      );
      return r.rows.map(toTask);
    },

    async heartbeatMany(leases, leaseMs) {
      if (leases.length === 0) return new Set();
      const r = await db.raw<{ rows: { id: string }[] }>(
        `WITH mine AS (
           SELECT t.id FROM tasks t JOIN unnest(?::uuid[], ?::uuid[]) AS l(id, token) ON t.id = l.id AND t.lease_token = l.token
            WHERE t.status = 'processing' ORDER BY t.id FOR UPDATE OF t
         )
         UPDATE tasks t SET lease_expires_at = now() + ? * interval '1 millisecond'
           FROM mine WHERE t.id = mine.id
        RETURNING t.id`,
        [leases.map((l) => l.id), leases.map((l) => l.token), leaseMs],
      );
      return new Set(r.rows.map((x) => x.id));
    },

    async completeMany(items) {
      const r = await db.raw<{ rows: { id: string }[] }>(
        `WITH c AS (SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::jsonb[]) AS c(id, token, result)),
              mine AS (
                SELECT t.id FROM tasks t JOIN c ON t.id = c.id AND t.lease_token = c.token
                 WHERE t.status = 'processing' ORDER BY t.id FOR UPDATE OF t
              )
         UPDATE tasks t
            SET status = 'done', result = c.result, lease_token = NULL, lease_expires_at = NULL,
                locked_by = NULL, finished_at = now(), updated_at = now()
           FROM mine JOIN c USING (id)
          WHERE t.id = mine.id
        RETURNING t.id`,
        [items.map((i) => i.id), items.map((i) => i.token), items.map((i) => i.resultJson)],
      );
      return new Set(r.rows.map((x) => x.id));
    },

    async complete(id, token, resultJson, effects = []) {
      const sql = `UPDATE tasks
            SET status = 'done', result = ?::jsonb, lease_token = NULL, lease_expires_at = NULL,
                locked_by = NULL, finished_at = now(), updated_at = now()
          WHERE id = ? AND lease_token = ? AND status = 'processing'`;
      const args = [resultJson, id, token];
      if (effects.length === 0) return (await db.raw<{ rowCount: number }>(sql, args)).rowCount === 1;
      return db.transaction(async (trx) => {
        const r = await trx.raw<{ rowCount: number }>(sql, args);
        if (r.rowCount !== 1) return false; // lease lost: the effects must not happen
        for (const effect of effects) await effect(trx);
        return true;
      });
    },

    async statusOf(id) {
      const r = await db.raw<{ rows: { status: string }[] }>(`SELECT status FROM tasks WHERE id = ?`, [id]);
      return r.rows[0]?.status ?? null;
    },

    async fail(id, token, error, retryAt, refundAttempt) {
      const retry = retryAt !== null;
      const r = await db.raw<{ rows: { status: string }[] }>(
        `UPDATE tasks
            SET status = CASE WHEN ?::boolean THEN 'pending' ELSE 'failed' END,
                attempts = attempts - CASE WHEN ?::boolean THEN 1 ELSE 0 END,
                run_after = coalesce(?::timestamptz, run_after),
                error = ?::jsonb, errors = jsonb_path_query_array(errors || ?::jsonb, '$[last - 19 to last]'),
                lease_token = NULL, lease_expires_at = NULL, locked_by = NULL, published_at = NULL,
                finished_at = CASE WHEN ?::boolean THEN NULL ELSE now() END, updated_at = now()
          WHERE id = ? AND lease_token = ? AND status = 'processing'
        RETURNING status`,
        [retry, refundAttempt, retryAt, JSON.stringify(error), JSON.stringify([error]), retry, id, token],
      );
      const row = r.rows[0];
      if (!row) return 'lease_lost';
      return row.status === 'pending' ? 'retried' : 'failed';
    },

    async release(id, token) {
      const r = await db.raw<{ rowCount: number }>(
        `UPDATE tasks
            SET status = 'pending', attempts = greatest(attempts - 1, 0), run_after = now(),
                lease_token = NULL, lease_expires_at = NULL, locked_by = NULL,
                published_at = NULL, updated_at = now()
          WHERE id = ? AND lease_token = ? AND status = 'processing'`,
        [id, token],
      );
      return r.rowCount === 1;
    },

    async reapExpired(limit) {
      const r = await db.raw<{ rows: { id: string; type: string; status: string }[] }>(
        `WITH expired AS (
           SELECT id FROM tasks
            WHERE status = 'processing' AND lease_expires_at < now()
            ORDER BY lease_expires_at
            LIMIT ? FOR UPDATE SKIP LOCKED
         )
         , crashed AS (
           SELECT t.id, jsonb_build_object('reason', 'crashed', 'attempt', t.attempts, 'at', now(),
                    'message', 'lease expired: the worker stopped heartbeating (' || coalesce(t.locked_by, 'unknown') || ')') AS e
             FROM tasks t JOIN expired USING (id)
         )
         UPDATE tasks t
            SET status = CASE WHEN t.attempts >= t.max_attempts THEN 'failed' ELSE 'pending' END,
                error = crashed.e,
                errors = jsonb_path_query_array(t.errors || jsonb_build_array(crashed.e), '$[last - 19 to last]'),
                finished_at = CASE WHEN t.attempts >= t.max_attempts THEN now() END,
                run_after = now(), lease_token = NULL, lease_expires_at = NULL, locked_by = NULL,
                published_at = NULL, updated_at = now()
           FROM crashed WHERE t.id = crashed.id
        RETURNING t.id, t.type, t.status`,
        [limit],
      );
      return r.rows;
    },
  };
}
