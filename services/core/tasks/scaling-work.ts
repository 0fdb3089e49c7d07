/**
 * The autoscaling signal: the work that exists for a set of task types, counted in PostgreSQL as
 * due pending tasks plus running (processing) ones. Queue depth alone misses running tasks (a
 * worker acks a message when it claims the task), and a due retry whose message is not yet
 * published; this count sees both. The chart renders the same text into KEDA's postgresql trigger
 * and the API exports it as `tasker_scaling_work_tasks` for HPA mode, so every autoscaler reads
 * one definition (the chart render test compares them).
 *
 * Served by two partial indexes: `tasks_pending_due_idx` (type, run_after) and
 * `tasks_processing_type_client_idx` (type, client_id; migration 20261202000000).
 */
import type { Db } from '../db/database';

/** Task type names are `^[a-z0-9_.-]+$` (task-types.ts), so inlining them as literals is safe. */
const TYPE_NAME = /^[a-z0-9_.-]+$/;

/** The query text for `types`, exactly as the chart renders it into the KEDA trigger. */
export function scalingWorkQuery(types: readonly string[]): string {
  for (const t of types) if (!TYPE_NAME.test(t)) throw new Error(`task type ${JSON.stringify(t)} cannot be a scaling query literal`);
  const list = types.map((t) => `'${t}'`).join(', ');
  return `SELECT count(*) FROM tasks WHERE type IN (${list}) AND (status = 'processing' OR (status = 'pending' AND run_after <= now()))`;
}

/** Runs the query: the number of tasks the group should be running now. */
export async function countScalingWork(db: Db, types: readonly string[]): Promise<number> {
  if (types.length === 0) return 0;
  const r = await db.raw<{ rows: { count: string }[] }>(scalingWorkQuery(types));
  return Number(r.rows[0]?.count ?? 0);
}
