/** mark-published: records that the broker confirmed these tasks' first messages (pending → pending). */
import type { Db } from '../../db/database';

/**
 * `started_at IS NULL`: once a worker has claimed the task, this confirm is stale (the row may
 * already be back in pending for a retry that still needs its own publish).
 * SKIP LOCKED: a row a worker is claiming right now needs no confirm, and waiting for it (or
 * locking rows in another order than the claim) is how two batches deadlock.
 */
export async function markPublished(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.raw(
    `UPDATE tasks SET published_at = now()
      WHERE id IN (SELECT id FROM tasks
                    WHERE id = ANY(?::uuid[]) AND status = 'pending' AND started_at IS NULL AND published_at IS NULL
                    FOR UPDATE SKIP LOCKED)`,
    [ids],
  );
}
