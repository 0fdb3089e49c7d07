/**
 * claim-next: pending + due → processing for the tasks that should run next — the order of
 * issue 17 (priorities, fairness between clients, per-client concurrency limits).
 *
 * A message is a wake-up token for its type, not an order to run the task it names: a consumer
 * holding k messages of type T claims the k best due tasks of T. "Best" is decided here, in one
 * statement over PostgreSQL's state, so it holds across any number of workers:
 *
 * 1. Each client with pending tasks of T (found by a loose index scan of `tasks_claim_idx`) offers
 *    its own due tasks, highest `priority` first, oldest `run_after` within a priority — probed
 *    one priority level at a time so that delayed rows are never read on the way.
 * 2. Between clients, weighted fair share: a client's j-th offered task is scored
 *    (running tasks of T of that client + j) / weight, and the lowest scores win. A client with
 *    nothing running wins the next free slot over one with a 50,000-task backlog; under sustained
 *    load running slots split in proportion to the weights. Ties go to the higher priority.
 * 3. A client at its concurrency limit (all types; CLIENT_MAX_RUNNING) offers nothing.
 *
 * Token accounting (why no task is stranded): every due, pending row whose `published_at` is set
 * has a message out; rows with `published_at IS NULL` (new and not yet confirmed, a retry not yet
 * swept, a row parked by a limit, a delayed row just due) get theirs from the API or the sweeper.
 * So a message claims a published row, or the row it names itself — never another row whose
 * message is not out: spending it there would leave its own row published with no message once
 * the other's publish is recorded (seen under load before this rule: a retry stranded until the
 * stale-message sweep). Every claim then consumes exactly one message and one row that relied on
 * it. A message delivered before its new row's confirm was recorded, and spent on a better row,
 * marks its own row published in the same statement (the better row's message now covers it).
 * See claimer.ts for messages that find nothing (dropped when no row they may claim is left,
 * retried while such rows are locked by another claim, and parking rows of clients at their limit).
 */
import type { Db } from '../../db/database';
import { toTask, type TaskRow } from '../../db/task-row';
import type { Task } from '../task';
import { LIMITS_CTE, limitsArgs } from './sql-fragments';

/** Priority range of a task; higher runs first. The migration's CHECK says the same. */
export const PRIORITY_MIN = -10;
export const PRIORITY_MAX = 10;

export interface Fairness {
  /** Weight per client id; clients not listed have `defaultWeight`. */
  weights: ReadonlyMap<string, number>;
  defaultWeight: number;
  /** Most running tasks (all types) per client; clients not listed are unlimited. */
  maxRunning: ReadonlyMap<string, number>;
}

export const NO_FAIRNESS_SETTINGS: Fairness = { weights: new Map(), defaultWeight: 1, maxRunning: new Map() };

export interface ClaimNextOptions {
  type: string;
  /** Tokens held: at most this many tasks are claimed. */
  count: number;
  /** Task ids the messages name: a row whose message is not out yet is claimable only by its own. */
  named: string[];
  token: string;
  leaseMs: number;
  workerId: string;
  fairness: Fairness;
}

/**
 * Clients with pending rows of the type `?` (given three times): a loose index scan of
 * tasks_claim_idx, one LIMIT 1 probe per distinct client in the index's own order (a row
 * comparison as the start, which no other index can serve; LIMIT 1 ends each probe at once).
 */
const CLIENTS_CTE = `clients AS (
     SELECT client_id FROM client_walk WHERE type = ?
   ), client_walk(type, client_id) AS (
     (SELECT type, client_id FROM tasks WHERE status = 'pending' AND (type, client_id) >= (?::text, ''::text)
       ORDER BY type, client_id LIMIT 1)
     UNION ALL
     SELECT n.type, n.client_id FROM client_walk w CROSS JOIN LATERAL (
       SELECT t.type, t.client_id FROM tasks t WHERE t.status = 'pending' AND (t.type, t.client_id) > (w.type, w.client_id)
        ORDER BY t.type, t.client_id LIMIT 1
     ) n
     WHERE w.type = ?
   )`;

/** First key of the two-int advisory lock that serialises claims of limited clients ('tlim'). */
const LIMIT_LOCK_SPACE = 0x746c696d;

/**
 * With limits configured, claims take turns per limited client (a transaction-scoped advisory lock
 * each, taken in one order so two claims cannot deadlock): the claim statement then counts running
 * tasks after the previous claim committed, so two workers cannot both see room for the last slot.
 * Without limits a claim is one statement and takes no lock.
 */
export async function claimNext(db: Db, o: ClaimNextOptions): Promise<Task[]> {
  if (o.count <= 0) return [];
  if (o.fairness.maxRunning.size === 0) return claimStatement(db, o);
  return db.transaction(async (trx) => {
    await trx.raw(`SELECT pg_advisory_xact_lock(?, h) FROM (SELECT DISTINCT hashtext(c) AS h FROM unnest(?::text[]) AS c ORDER BY 1) AS s`, [
      LIMIT_LOCK_SPACE,
      [...o.fairness.maxRunning.keys()],
    ]);
    return claimStatement(trx, o);
  });
}

async function claimStatement(db: Db, o: ClaimNextOptions): Promise<Task[]> {
  const weighted = [...o.fairness.weights];
  const r = await db.raw<{ rows: TaskRow[] }>(
    `WITH RECURSIVE ${LIMITS_CTE}, ${CLIENTS_CTE},
     offers AS MATERIALIZED (
       SELECT c.client_id,
              coalesce(w.weight, ?::float8) AS weight,
              (SELECT count(*) FROM tasks p WHERE p.type = ? AND p.status = 'processing' AND p.client_id = c.client_id) AS running,
              least(?::bigint, greatest(coalesce(l.room, ?::bigint), 0)) AS room
         FROM clients c
         LEFT JOIN unnest(?::text[], ?::float8[]) AS w(client_id, weight) ON w.client_id = c.client_id
         LEFT JOIN limits l ON l.client_id = c.client_id
     ), offered AS (
       SELECT x.id, x.priority, x.run_after, o.room,
              row_number() OVER per_client AS rn,
              (o.running + row_number() OVER per_client) / o.weight AS share
         FROM offers o
         CROSS JOIN LATERAL (
           SELECT q.* FROM generate_series(${PRIORITY_MAX}, ${PRIORITY_MIN}, -1) AS lv(priority)
           CROSS JOIN LATERAL (
             -- One (type, client, priority) range of tasks_claim_idx up to now(), in the index's own
             -- order with a LIMIT known when planning: an ordered scan that stops after k rows is
             -- then far cheaper than any other index plus a sort, whatever the statistics say (a
             -- LIMIT of o.room, unknown when planning, let the planner choose (client_id) or
             -- (type, run_after) and filter a 90,000-row backlog per level: 110 ms each, seen).
             SELECT t.id, t.priority, t.run_after FROM tasks t
              WHERE t.type = ? AND t.client_id = o.client_id AND t.priority = lv.priority AND t.status = 'pending'
                AND t.run_after <= now()
                AND (t.published_at IS NOT NULL OR t.id = ANY(?::uuid[]))
              ORDER BY t.type, t.client_id, t.priority, t.run_after LIMIT ?::int
              FOR UPDATE SKIP LOCKED
           ) q
           LIMIT ?::int
         ) x
        WHERE o.room > 0
       WINDOW per_client AS (PARTITION BY o.client_id ORDER BY x.priority DESC, x.run_after)
     ), chosen AS (
       SELECT id FROM offered WHERE rn <= room ORDER BY share, priority DESC, run_after LIMIT ?
     ), claimed AS (
       UPDATE tasks t
          SET status = 'processing', attempts = t.attempts + 1, lease_token = ?,
              lease_expires_at = now() + ? * interval '1 millisecond', locked_by = ?,
              -- statement_timestamp(): after the limit lock was taken, so a start never precedes
              -- the finish of the task whose slot it took
              started_at = coalesce(t.started_at, statement_timestamp()), attempt_started_at = statement_timestamp(), updated_at = now()
         FROM chosen WHERE t.id = chosen.id AND t.status = 'pending'
       RETURNING t.*
     ), marked AS (
       -- A named row that was never started and whose confirm is not recorded yet, passed over for
       -- a better row: its message is out (it was just delivered), so record that, making it
       -- claimable by the message the better row no longer needs. Otherwise that message would
       -- find nothing and go, and the row would sit published with none once its confirm landed.
       UPDATE tasks t SET published_at = now()
        WHERE t.id = ANY(?::uuid[]) AND t.id NOT IN (SELECT id FROM claimed)
          AND t.status = 'pending' AND t.started_at IS NULL AND t.published_at IS NULL AND t.run_after <= now()
     )
     SELECT * FROM claimed`,
    [
      ...limitsArgs(o.fairness.maxRunning),
      o.type,
      o.type,
      o.type,
      o.fairness.defaultWeight,
      o.type,
      o.count,
      o.count,
      weighted.map(([c]) => c),
      weighted.map(([, w]) => w),
      o.type,
      o.named,
      o.count,
      o.count,
      o.count,
      o.token,
      o.leaseMs,
      o.workerId,
      o.named,
    ],
  );
  return r.rows.map(toTask);
}

/**
 * Whether a due pending task of the type exists that this message may claim (published, or its
 * own) for a client with room, and whether
 * published due tasks of clients at their limit exist (those a message could park); no locks taken.
 */
export async function dueClaimable(db: Db, type: string, fairness: Fairness, own?: string): Promise<{ claimable: boolean; heldByLimit: boolean }> {
  const r = await db.raw<{ rows: { claimable: boolean; held: boolean }[] }>(
    `WITH ${LIMITS_CTE},
     due AS (
       SELECT t.client_id, t.published_at IS NOT NULL AS published, t.id = ?::uuid AS own FROM tasks t
        WHERE t.type = ? AND t.status = 'pending' AND t.run_after <= now()
     )
     SELECT EXISTS (SELECT 1 FROM due WHERE (published OR own) AND client_id NOT IN (SELECT client_id FROM limits WHERE room <= 0)) AS claimable,
            EXISTS (SELECT 1 FROM due WHERE published AND client_id IN (SELECT client_id FROM limits WHERE room <= 0)) AS held`,
    [...limitsArgs(fairness.maxRunning), own ?? null, type],
  );
  const row = r.rows[0]!;
  return { claimable: row.claimable, heldByLimit: row.held };
}

/**
 * Parks up to `count` due, published rows of clients at their limit: their messages were spent
 * on finding the client full, so the rows go back to the sweeper, which publishes a client's
 * parked rows only as its running count leaves room (sweep-due.ts). Returns how many were parked.
 */
export async function parkHeldRows(db: Db, type: string, count: number, fairness: Fairness): Promise<number> {
  const r = await db.raw<{ rowCount: number }>(
    `WITH ${LIMITS_CTE}
     UPDATE tasks t SET published_at = NULL
      WHERE t.id IN (
        SELECT id FROM tasks
         WHERE type = ? AND status = 'pending' AND published_at IS NOT NULL AND run_after <= now()
           AND client_id IN (SELECT client_id FROM limits WHERE room <= 0)
         ORDER BY priority DESC, run_after LIMIT ?
         FOR UPDATE SKIP LOCKED)`,
    [...limitsArgs(fairness.maxRunning), type, count],
  );
  return r.rowCount;
}
