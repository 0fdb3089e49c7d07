/** claim: pending + due → processing with a fresh lease, for many tasks in one statement. */
import type { Db } from '../../db/database';
import { toTask, type TaskRow } from '../../db/task-row';
import type { Task } from '../task';

/**
 * Returns the rows claimed; a task missing from the result is someone else's, finished, or not
 * yet due. Rows are locked in id order first (ORDER BY id FOR UPDATE): two multi-row statements
 * that lock overlapping sets in the same order wait for each other instead of deadlocking.
 */
export async function claimTasks(db: Db, ids: string[], token: string, leaseMs: number, workerId: string): Promise<Task[]> {
  const r = await db.raw<{ rows: TaskRow[] }>(
    `WITH due AS (
       SELECT id FROM tasks WHERE id = ANY(?::uuid[]) AND status = 'pending' AND run_after <= now()
        ORDER BY id FOR UPDATE
     )
     UPDATE tasks t
        SET status = 'processing', attempts = t.attempts + 1, lease_token = ?,
            lease_expires_at = now() + ? * interval '1 millisecond', locked_by = ?,
            started_at = coalesce(t.started_at, now()), attempt_started_at = now(), updated_at = now()
       FROM due WHERE t.id = due.id AND t.status = 'pending' AND t.run_after <= now()
    RETURNING t.*`,
    [ids, token, leaseMs, workerId],
  );
  return r.rows.map(toTask);
}
