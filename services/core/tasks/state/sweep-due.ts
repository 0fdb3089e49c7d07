/**
 * sweep-due: finds pending, due rows whose message was never confirmed (API crashed between commit
 * and publish, broker was down, a retry or recovered lease became due) or was confirmed so long
 * ago that it may have been lost, publishes them, and marks them published (pending → pending).
 * Rows are locked with SKIP LOCKED for the duration of the publish, so any number of sweepers can
 * run at once without publishing the same row twice.
 */
import type { Db } from '../../db/database';

export interface DueRow {
  id: string;
  type: string;
  trace_context: Record<string, string> | null;
  /** unconfirmed: a new task's publish was never confirmed; retry: a retry or recovered lease became
   * due; stale: published long ago and still pending (message lost broker-side). */
  reason: 'unconfirmed' | 'retry' | 'stale';
}

export interface SweepOptions {
  limit: number;
  unconfirmedAfterMs: number;
  republishAfterMs: number;
}

/** `publish` returns the rows the broker confirmed; only those are marked. */
export function sweepDue(db: Db, o: SweepOptions, publish: (rows: DueRow[]) => Promise<DueRow[]>): Promise<DueRow[]> {
  return db.transaction(async (trx) => {
    const r = await trx.raw<{ rows: DueRow[] }>(
      `WITH unconfirmed AS (
         SELECT id, type, trace_context, CASE WHEN attempts > 0 THEN 'retry' ELSE 'unconfirmed' END AS reason FROM tasks
          WHERE status = 'pending' AND published_at IS NULL AND run_after <= now()
            -- fresh rows get a grace period for the API's own publish; rows a worker put back do not
            AND (attempts > 0 OR created_at <= now() - ? * interval '1 millisecond')
          ORDER BY run_after LIMIT ? FOR UPDATE SKIP LOCKED
       ), stale AS (
         SELECT id, type, trace_context, 'stale' AS reason FROM tasks
          WHERE status = 'pending' AND published_at < now() - ? * interval '1 millisecond' AND run_after <= now()
          ORDER BY published_at LIMIT ? FOR UPDATE SKIP LOCKED
       )
       SELECT * FROM unconfirmed UNION ALL SELECT * FROM stale`,
      [o.unconfirmedAfterMs, o.limit, o.republishAfterMs, o.limit],
    );
    if (r.rows.length === 0) return [];
    const confirmed = await publish(r.rows);
    if (confirmed.length > 0) {
      await trx.raw(`UPDATE tasks SET published_at = now() WHERE id = ANY(?::uuid[])`, [confirmed.map((c) => c.id)]);
    }
    return confirmed;
  });
}
