/**
 * retry (operator): failed/cancelled → pending now, with a fresh budget of `extraAttempts`.
 * `started_at` is cleared: the retried task starts a new life. Like every retry it is not a
 * message: `published_at = NULL` and due, so sweep-due publishes it once (reserving it with SKIP
 * LOCKED); the API does not publish it itself, which raced a sweeper into a second message.
 */
import type { Db } from '../../db/database';
import { toTask, type TaskRow } from '../../db/task-row';
import type { Task } from '../task';
import { IN_SCOPE, scopeArgs, type Scope } from './sql-fragments';

export async function retryTask(db: Db, id: string, extraAttempts: number, scope: Scope): Promise<Task | null> {
  const r = await db.raw<{ rows: TaskRow[] }>(
    `UPDATE tasks SET status = 'pending', max_attempts = attempts + ?, run_after = now(), result = NULL,
            finished_at = NULL, started_at = NULL, published_at = NULL, snoozes = 0, updated_at = now()
      WHERE id = ? AND status IN ('failed', 'cancelled') AND ${IN_SCOPE} RETURNING *`,
    [extraAttempts, id, ...scopeArgs(scope)],
  );
  return r.rows[0] ? toTask(r.rows[0]) : null;
}
