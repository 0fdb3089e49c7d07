/** reap: processing with an expired lease → pending (or failed when out of attempts), reason `crashed`. */
import type { Db } from '../../db/database';
import { appendErrors, isoText, LEASE_RESET } from './sql-fragments';
import { notifyTerminalAfterCommit } from './terminal-notify';

export interface ReapedTask {
  id: string;
  type: string;
  status: 'pending' | 'failed';
}

/** SKIP LOCKED: any number of reapers can run at once (every worker runs one). */
export async function reapExpiredLeases(db: Db, limit: number): Promise<ReapedTask[]> {
  const r = await db.raw<{ rows: ReapedTask[] }>(
    `WITH expired AS (
       SELECT id FROM tasks
        WHERE status = 'processing' AND lease_expires_at < now()
        ORDER BY lease_expires_at
        LIMIT ? FOR UPDATE SKIP LOCKED
     )
     , crashed AS (
       SELECT t.id, jsonb_build_object('reason', 'crashed', 'attempt', t.attempts, 'at', ${isoText('now()')}, 'started_at', ${isoText('t.attempt_started_at')},
                'message', 'lease expired: the worker stopped heartbeating (' || coalesce(t.locked_by, 'unknown') || ')') AS e
         FROM tasks t JOIN expired USING (id)
     )
     UPDATE tasks t
        SET status = CASE WHEN t.attempts >= t.max_attempts THEN 'failed' ELSE 'pending' END,
            error = crashed.e,
            errors = ${appendErrors('t.errors', 'jsonb_build_array(crashed.e)')},
            finished_at = CASE WHEN t.attempts >= t.max_attempts THEN now() END,
            run_after = now(), ${LEASE_RESET}, published_at = NULL, updated_at = now()
       FROM crashed WHERE t.id = crashed.id
    RETURNING t.id, t.type, t.status`,
    [limit],
  );
  await notifyTerminalAfterCommit(db, r.rows.filter((t) => t.status === 'failed').map((t) => t.id));
  return r.rows;
}
