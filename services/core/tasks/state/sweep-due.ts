/**
 * sweep-due: finds pending, due rows whose message was never confirmed (API crashed between commit
 * and publish, broker was down, a retry or recovered lease became due) or was published so long
 * ago that it may have been lost, and hands them to `publish` (pending → pending).
 *
 * No row lock is held across the broker round trip: one short statement reserves the rows
 * (`published_at = now()`, SKIP LOCKED, so concurrent sweepers take disjoint rows), the publish
 * happens outside any transaction, and the rows whose publish was not confirmed are released
 * (`published_at = NULL`) for the next sweep. A sweeper that dies between the two leaves its rows
 * marked; the stale path republishes them once their queue has nothing ready.
 *
 * Stale rows are republished only for the types the caller names — those whose queue is empty —
 * and at most `staleLimit` per sweep, so queue depth never grows past the real backlog while no
 * consumer runs (a queue-length autoscaler must not see phantom work).
 */
import type { Db } from '../../db/database';
import { LIMITS_CTE, limitsArgs } from './sql-fragments';

/** A stale row: pending, due, and published more than `republishAfterMs` (the one argument) ago. */
const STALE = `status = 'pending' AND published_at < now() - ? * interval '1 millisecond' AND run_after <= now()`;

/**
 * Due and never (or no longer) published; one argument: the grace. Rows the API publishes itself
 * (new, or retried by an operator: never started, due when last changed) get a grace period for
 * that publish; rows a worker put back (started) and delayed rows (due after their last change:
 * nobody else publishes them) are published at once.
 */
const UNPUBLISHED_DUE = `status = 'pending' AND published_at IS NULL AND run_after <= now()
          AND (started_at IS NOT NULL OR run_after > updated_at OR updated_at <= now() - ? * interval '1 millisecond')`;

/** Why an unpublished due row is published: it ran before (a retry, a recovered lease) or never did. */
const UNPUBLISHED_REASON = `CASE WHEN attempts > 0 THEN 'retry' ELSE 'unconfirmed' END AS reason`;

export interface DueRow {
  id: string;
  type: string;
  trace_context: Record<string, string> | null;
  /** unconfirmed: a new task's publish was never confirmed; retry: a retry or recovered lease became
   * due; stale: published long ago and still pending, with its queue empty (message lost broker-side). */
  reason: 'unconfirmed' | 'retry' | 'stale';
}

export interface SweepOptions {
  limit: number;
  unconfirmedAfterMs: number;
  republishAfterMs: number;
  /** Most stale rows republished per sweep. */
  staleLimit: number;
  /**
   * Clients at a concurrency limit (CLIENT_MAX_RUNNING): their unpublished rows (parked by a
   * worker that found the client full, or new) are published only as their running count leaves room.
   */
  maxRunning?: ReadonlyMap<string, number>;
}

/** Types that have stale rows (pending, due, published long ago): only their queues need a look. */
export async function typesWithStaleRows(db: Db, republishAfterMs: number): Promise<string[]> {
  const r = await db.raw<{ rows: { type: string }[] }>(
    `SELECT DISTINCT type FROM tasks
      WHERE ${STALE}`,
    [republishAfterMs],
  );
  return r.rows.map((x) => x.type);
}

/** Reserves due rows for publishing; stale rows only of `staleTypes`. */
export async function reserveDue(db: Db, o: SweepOptions, staleTypes: readonly string[]): Promise<(DueRow & { stamp: string })[]> {
  const [limitedClients, maxRunning] = limitsArgs(o.maxRunning ?? new Map());
  const r = await db.raw<{ rows: (DueRow & { stamp: string })[] }>(
    `WITH ${LIMITS_CTE}, unconfirmed AS (
       SELECT id, ${UNPUBLISHED_REASON} FROM tasks
        WHERE ${UNPUBLISHED_DUE} AND client_id <> ALL(?::text[])
        ORDER BY run_after LIMIT ? FOR UPDATE SKIP LOCKED
     ), held AS (
       SELECT x.id, x.reason FROM limits l CROSS JOIN LATERAL (
         SELECT id, ${UNPUBLISHED_REASON} FROM tasks
          WHERE ${UNPUBLISHED_DUE} AND client_id = l.client_id
          ORDER BY priority DESC, run_after LIMIT greatest(l.room, 0) FOR UPDATE SKIP LOCKED
       ) x
     ), stale AS (
       SELECT id, 'stale' AS reason FROM tasks
        WHERE ${STALE}
          AND type = ANY(?::text[])
        ORDER BY published_at LIMIT ? FOR UPDATE SKIP LOCKED
     ), picked AS (SELECT * FROM unconfirmed UNION ALL SELECT * FROM held UNION ALL SELECT * FROM stale)
     UPDATE tasks t SET published_at = now() FROM picked WHERE t.id = picked.id
     RETURNING t.id, t.type, t.trace_context, picked.reason, t.published_at::text AS stamp`,
    [
      limitedClients,
      maxRunning,
      o.unconfirmedAfterMs,
      limitedClients,
      o.limit,
      o.unconfirmedAfterMs,
      o.republishAfterMs,
      [...staleTypes],
      Math.min(o.limit, o.staleLimit),
    ],
  );
  return r.rows;
}

/** Releases reserved rows whose publish failed, unless something else changed them meanwhile. */
export async function releaseUnpublished(db: Db, rows: { id: string; stamp: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.raw(
    `UPDATE tasks t SET published_at = NULL
       FROM unnest(?::uuid[], ?::timestamptz[]) AS r(id, stamp)
      WHERE t.id = r.id AND t.status = 'pending' AND t.published_at = r.stamp`,
    [rows.map((r) => r.id), rows.map((r) => r.stamp)],
  );
}

/** One sweep: reserve, publish (no transaction open), release what was not confirmed. Returns the confirmed rows. */
export async function sweepDue(
  db: Db,
  o: SweepOptions,
  publish: (rows: DueRow[]) => Promise<DueRow[]>,
  staleTypes: readonly string[] = [],
): Promise<DueRow[]> {
  const reserved = await reserveDue(db, o, staleTypes);
  if (reserved.length === 0) return [];
  let confirmed: DueRow[] = [];
  try {
    confirmed = await publish(reserved.map(({ stamp: _stamp, ...row }) => row));
  } finally {
    const ok = new Set(confirmed.map((c) => c.id));
    await releaseUnpublished(db, reserved.filter((r) => !ok.has(r.id)));
  }
  return confirmed;
}
