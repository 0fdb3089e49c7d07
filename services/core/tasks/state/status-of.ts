/** Reads a task's current status (a worker tells a cancellation from a takeover after losing a lease). */
import type { Db } from '../../db/database';
import type { TaskStatus } from '../task';

export async function statusOf(db: Db, id: string): Promise<TaskStatus | null> {
  const r = await db.raw<{ rows: { status: TaskStatus }[] }>(`SELECT status FROM tasks WHERE id = ?`, [id]);
  return r.rows[0]?.status ?? null;
}
