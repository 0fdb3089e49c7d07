/** The API's queries on `tasks`. */
import type { Db } from '../../core/db/database';
import { toTask, type TaskRow } from '../../core/db/task-row';
import type { Task } from '../../core/tasks/task';

export interface NewTask {
  id: string;
  type: string;
  payload: unknown;
  maxAttempts: number;
  timeoutMs: number;
}

export interface TaskRepository {
  insert(t: NewTask): Promise<Task>;
  findById(id: string): Promise<Task | null>;
  /** Records that the broker confirmed these tasks' messages, so the sweeper leaves them alone. */
  markPublished(ids: string[]): Promise<void>;
}

export function createTaskRepository(db: Db): TaskRepository {
  return {
    async insert(t) {
      const r = await db.raw<{ rows: TaskRow[] }>(
        `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms)
         VALUES (?, ?, ?::jsonb, ?, ?) RETURNING *`,
        [t.id, t.type, JSON.stringify(t.payload), t.maxAttempts, t.timeoutMs],
      );
      return toTask(r.rows[0]!);
    },
    async findById(id) {
      const r = await db.raw<{ rows: TaskRow[] }>(`SELECT * FROM tasks WHERE id = ?`, [id]);
      return r.rows[0] ? toTask(r.rows[0]) : null;
    },
    async markPublished(ids) {
      if (ids.length === 0) return;
      // started_at IS NULL: once a worker has claimed the task, this confirm is stale (the row
      // may already be back in pending for a retry that still needs its own publish).
      await db.raw(
        `UPDATE tasks SET published_at = now()
          WHERE id = ANY(?::uuid[]) AND status = 'pending' AND started_at IS NULL AND published_at IS NULL`,
        [ids],
      );
    },
  };
}
