/**
 * retry (operator): failed/cancelled → pending now, with a fresh budget of `extraAttempts`.
 * `started_at` is cleared: the retried task starts a new life, the API publishes it like a new
 * task, its confirm can be recorded (mark-published skips started rows), and sweep-due gives it the
 * grace period of a row the API publishes itself instead of racing that publish.
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
