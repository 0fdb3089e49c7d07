/** release: processing → pending now, the interrupted attempt not counted (drain timeout), fenced by the lease token. */
import type { Db } from '../../db/database';
import { LEASE_RESET } from './sql-fragments';
import type { Lease } from './heartbeat';

export async function releaseTask(db: Db, l: Lease): Promise<boolean> {
  const r = await db.raw<{ rowCount: number }>(
    `UPDATE tasks
        SET status = 'pending', attempts = greatest(attempts - 1, 0), run_after = now(),
            ${LEASE_RESET}, published_at = NULL, updated_at = now()
      WHERE id = ? AND lease_token = ? AND status = 'processing'`,
    [l.id, l.token],
  );
  return r.rowCount === 1;
}
