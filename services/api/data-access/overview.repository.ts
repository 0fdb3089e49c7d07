/**
 * What the console's overview shows, per task type, read from PostgreSQL (so it works without a
 * monitoring stack): pending due and delayed, running, the oldest due task, dead letters, and what
 * finished in the last hour per minute. Each part reads a partial index: pending rows
 * (tasks_claim_idx), running rows (tasks_processing_type_client_idx), dead letters
 * (tasks_failed_idx) and one hour of finished rows (tasks_finished_idx).
 */
import type { Db } from '../../core/db/database';
import { IN_SCOPE, scopeArgs, type Scope } from '../../core/tasks/state/sql-fragments';

export const OVERVIEW_BUCKETS = 60;
export const OVERVIEW_BUCKET_SECONDS = 60;

export interface TypeOverview {
  type: string;
  pending_due: number;
  pending_delayed: number;
  running: number;
  /** Age of the oldest due pending task (since it became due), or null. */
  oldest_pending_age_ms: number | null;
  dead_letters: number;
  last_hour: { done: number; failed: number; cancelled: number };
  /** Per minute, oldest first; the last bucket is the current minute. */
  series: { done: number[]; failed: number[] };
}

export interface Overview {
  generated_at: string;
  series_start: string;
  bucket_seconds: number;
  buckets: number;
  types: TypeOverview[];
}

interface CountRow {
  type: string;
  due: number;
  delayed: number;
  oldest_ms: number | null;
  running: number;
  dead: number;
}

interface FinishedRow {
  type: string;
  status: 'done' | 'failed' | 'cancelled';
  bucket: number;
  n: number;
}

export async function readOverview(db: Db, types: readonly string[], scope: Scope): Promise<Overview> {
  // One snapshot for every part: the counts cannot disagree with each other about "now".
  return db.transaction(
    async (trx) => {
      const clock = await trx.raw<{ rows: { now: Date; start: Date }[] }>(
        `SELECT now() AS now, date_trunc('minute', now()) - ? * interval '1 second' AS start`,
        [(OVERVIEW_BUCKETS - 1) * OVERVIEW_BUCKET_SECONDS],
      );
      const { now, start } = clock.rows[0]!;
      const counts = await trx.raw<{ rows: CountRow[] }>(
        `WITH pending AS (
           SELECT type, count(*) FILTER (WHERE run_after <= now())::int AS due,
                  count(*) FILTER (WHERE run_after > now())::int AS delayed,
                  (extract(epoch FROM now() - min(run_after) FILTER (WHERE run_after <= now())) * 1000)::float8 AS oldest_ms
             FROM tasks WHERE status = 'pending' AND ${IN_SCOPE} GROUP BY type
         ), running AS (
           SELECT type, count(*)::int AS n FROM tasks WHERE status = 'processing' AND ${IN_SCOPE} GROUP BY type
         ), dead AS (
           SELECT type, count(*)::int AS n FROM tasks WHERE status = 'failed' AND ${IN_SCOPE} GROUP BY type
         )
         SELECT t.type, coalesce(p.due, 0) AS due, coalesce(p.delayed, 0) AS delayed, p.oldest_ms,
                coalesce(r.n, 0) AS running, coalesce(d.n, 0) AS dead
           FROM (SELECT unnest(?::text[]) AS type UNION SELECT type FROM pending UNION SELECT type FROM running UNION SELECT type FROM dead) t
           LEFT JOIN pending p USING (type) LEFT JOIN running r USING (type) LEFT JOIN dead d USING (type)
          ORDER BY t.type`,
        [...scopeArgs(scope), ...scopeArgs(scope), ...scopeArgs(scope), [...types]],
      );
      const finished = await trx.raw<{ rows: FinishedRow[] }>(
        `SELECT type, status, floor(extract(epoch FROM finished_at - ?::timestamptz) / ?)::int AS bucket, count(*)::int AS n
           FROM tasks
          WHERE status IN ('done', 'failed', 'cancelled') AND finished_at >= ?::timestamptz AND ${IN_SCOPE}
          GROUP BY 1, 2, 3`,
        [start, OVERVIEW_BUCKET_SECONDS, start, ...scopeArgs(scope)],
      );
      const byType = new Map<string, TypeOverview>();
      const entry = (type: string): TypeOverview => {
        let e = byType.get(type);
        if (!e) {
          e = {
            type,
            pending_due: 0,
            pending_delayed: 0,
            running: 0,
            oldest_pending_age_ms: null,
            dead_letters: 0,
            last_hour: { done: 0, failed: 0, cancelled: 0 },
            series: { done: new Array<number>(OVERVIEW_BUCKETS).fill(0), failed: new Array<number>(OVERVIEW_BUCKETS).fill(0) },
          };
          byType.set(type, e);
        }
        return e;
      };
      for (const c of counts.rows) {
        Object.assign(entry(c.type), {
          pending_due: c.due,
          pending_delayed: c.delayed,
          running: c.running,
          oldest_pending_age_ms: c.oldest_ms === null ? null : Math.max(0, Math.round(c.oldest_ms)),
          dead_letters: c.dead,
        });
      }
      for (const f of finished.rows) {
        const e = entry(f.type);
        e.last_hour[f.status] += f.n;
        // A row finished a hair after `now()` by another transaction's clock lands in the last bucket.
        const i = Math.min(Math.max(f.bucket, 0), OVERVIEW_BUCKETS - 1);
        if (f.status !== 'cancelled') e.series[f.status][i]! += f.n;
      }
      return {
        generated_at: now.toISOString(),
        series_start: start.toISOString(),
        bucket_seconds: OVERVIEW_BUCKET_SECONDS,
        buckets: OVERVIEW_BUCKETS,
        types: [...byType.values()].sort((a, b) => a.type.localeCompare(b.type)),
      };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
