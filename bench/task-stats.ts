/** What the task rows say about a run: counts, throughput and latency percentiles (PostgreSQL clock). */
import type { BenchEnv } from './infra';
import { sleep } from './processes';

export interface TaskStats {
  total: number;
  done: number;
  terminal: number;
  /** first created_at → last finished_at, seconds. */
  spanSeconds: number;
  /** first started_at → last finished_at, seconds (the processing window; used for drains). */
  processingSeconds: number;
  submitToStartMs: { p50: number; p99: number; max: number };
  submitToDoneMs: { p50: number; p99: number; max: number };
  /** Rows not terminal when the stats were taken, by status, attempts and whether the publish was confirmed. */
  nonTerminal: { status: string; attempts: number; published: boolean; n: number }[];
}

/** `table`: `tasks`, or the naive peer's `naive_tasks` (same timestamp columns). */
export async function taskStats(env: BenchEnv, table: 'tasks' | 'naive_tasks' = 'tasks'): Promise<TaskStats> {
  const r = await env.db.query<{
    total: string;
    done: string;
    terminal: string;
    span_s: number | null;
    processing_s: number | null;
    start_ms: (number | null)[] | null;
    done_ms: (number | null)[] | null;
    start_max: number | null;
    done_max: number | null;
  }>(`
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'done') AS done,
           count(*) FILTER (WHERE status IN ('done', 'failed', 'cancelled')) AS terminal,
           extract(epoch FROM max(finished_at) - min(created_at))::float8 AS span_s,
           extract(epoch FROM max(finished_at) - min(started_at))::float8 AS processing_s,
           percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at) * 1000) AS start_ms,
           percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS done_ms,
           (max(extract(epoch FROM started_at - created_at)) * 1000)::float8 AS start_max,
           (max(extract(epoch FROM finished_at - created_at)) * 1000)::float8 AS done_max
      FROM ${table}`);
  const stuck = await env.db.query<{ status: string; attempts: number; published: boolean; n: string }>(
    table !== 'tasks'
      ? `SELECT status, 0 AS attempts, true AS published, count(*) AS n FROM ${table} WHERE status <> 'done' GROUP BY 1`
      : `SELECT status, attempts, published_at IS NOT NULL AS published, count(*) AS n
       FROM tasks WHERE status NOT IN ('done', 'failed', 'cancelled')
      GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 10`,
  );
  const row = r.rows[0];
  const n = (v: number | null | undefined) => Number(v ?? 0);
  return {
    total: n(Number(row?.total)),
    done: n(Number(row?.done)),
    terminal: n(Number(row?.terminal)),
    spanSeconds: n(row?.span_s),
    processingSeconds: n(row?.processing_s),
    submitToStartMs: { p50: n(row?.start_ms?.[0]), p99: n(row?.start_ms?.[1]), max: n(row?.start_max) },
    submitToDoneMs: { p50: n(row?.done_ms?.[0]), p99: n(row?.done_ms?.[1]), max: n(row?.done_max) },
    nonTerminal: stuck.rows.map((x) => ({ status: x.status, attempts: x.attempts, published: x.published, n: Number(x.n) })),
  };
}

/**
 * Polls until `expected` tasks are terminal, `capSeconds` pass, or the terminal count has not moved
 * for `stallSeconds` (tasks that are stuck would otherwise hold the run for the whole cap).
 * Returns the terminal count.
 */
export async function waitTerminal(
  env: BenchEnv,
  expected: number,
  capSeconds: number,
  stallSeconds = 3,
  everyMs = 250,
  table: 'tasks' | 'naive_tasks' = 'tasks',
): Promise<number> {
  const deadline = performance.now() + capSeconds * 1000;
  let terminal = -1;
  let movedAt = performance.now();
  while (performance.now() < deadline) {
    const r = await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE status IN ('done', 'failed', 'cancelled')`);
    const now = Number(r.rows[0]?.n ?? 0);
    if (now !== terminal) movedAt = performance.now();
    terminal = now;
    if (terminal >= expected) return terminal;
    if (performance.now() - movedAt > stallSeconds * 1000) return terminal;
    await sleep(everyMs);
  }
  return Math.max(0, terminal);
}
