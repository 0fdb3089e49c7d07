/**
 * Backlog queries for the queue-state gauges. Each is answered from a partial index (pending rows
 * by type and run_after), so a scrape stays cheap at a million rows.
 */
import type { Db } from '../../core/db/database';

export interface BacklogSnapshot {
  counts: { type: string; status: 'pending' | 'processing'; n: number }[];
  oldestDueAgeSeconds: Map<string, number>;
  /** Pending tasks by type, client and priority, split into due and delayed (issue 17). */
  pending: { type: string; client: string; priority: number; due: boolean; n: number }[];
}

export async function readBacklog(db: Db, types: readonly string[]): Promise<BacklogSnapshot> {
  const counts = await db.raw<{ rows: { type: string; status: 'pending' | 'processing'; n: string }[] }>(
    `SELECT type, status, count(*) AS n FROM tasks WHERE status IN ('pending', 'processing') GROUP BY type, status`,
  );
  const oldest = await db.raw<{ rows: { type: string; age: number | null }[] }>(
    `SELECT t.type,
            extract(epoch FROM now() - (SELECT min(run_after) FROM tasks
                                         WHERE status = 'pending' AND type = t.type AND run_after <= now()))::float8 AS age
       FROM unnest(?::text[]) AS t(type)`,
    [[...types]],
  );
  // An index-only walk of tasks_claim_idx (type, client_id, priority, run_after) over pending rows.
  const pending = await db.raw<{ rows: { type: string; client: string; priority: number; due: boolean; n: string }[] }>(
    `SELECT type, client_id AS client, priority, run_after <= now() AS due, count(*) AS n
       FROM tasks WHERE status = 'pending' GROUP BY 1, 2, 3, 4`,
  );
  return {
    pending: pending.rows.map((r) => ({ ...r, n: Number(r.n) })),
    counts: counts.rows.map((r) => ({ type: r.type, status: r.status, n: Number(r.n) })),
    oldestDueAgeSeconds: new Map(oldest.rows.map((r) => [r.type, Math.max(0, r.age ?? 0)])),
  };
}
