/**
 * insert (none → pending) under MAX_PENDING_PER_CLIENT: the cap is checked in the transaction that
 * inserts, after the Idempotency-Key lookup, and serialised per client.
 *
 * Why this shape: counting and then inserting in separate statements let concurrent submissions
 * each see room under the cap (issue 12: 43 pending with a cap of 5), and counting before the key
 * lookup refused a legitimate replay with 429. Here a transaction-scoped advisory lock per client
 * makes a client's capped submissions take turns (other clients are not blocked); the insert
 * runs first — a known key answers its replay (or `key_reused`) without consulting the cap — and a
 * new row that would put the client over the cap is rolled back with its key.
 *
 * Capped submissions do not share the group-commit batch (each needs its own lock and count);
 * without a cap the repository keeps the batch path.
 */
import type { Db } from '../../db/database';
import { insertTasks, insertTaskWithKey, type IdempotencyClaim, type InsertResult, type NewTask } from './insert';

export type CappedInsertResult = InsertResult | { kind: 'over_cap' };

/** First key of the two-int advisory lock: a namespace, so the lock cannot collide with other advisory locks ('tcap'). */
const PENDING_CAP_LOCK_SPACE = 0x74636170;

/** Thrown inside the transaction to roll it back; never escapes this module. */
class OverCap extends Error {}

export async function insertCapped(db: Db, t: NewTask, idem: IdempotencyClaim | undefined, cap: number): Promise<CappedInsertResult> {
  try {
    return await db.transaction(async (trx) => {
      await lockClientPending(trx, t.clientId);
      const result: InsertResult = idem ? await insertTaskWithKey(trx, t, idem) : { kind: 'created', task: (await insertTasks(trx, [t]))[0]! };
      if (result.kind !== 'created') return result;
      if (await overPendingCap(trx, t.clientId, cap)) throw new OverCap();
      return result;
    });
  } catch (e) {
    if (e instanceof OverCap) return { kind: 'over_cap' };
    throw e;
  }
}

/** Serialises a client's capped inserts until the transaction ends (batch submit takes the same lock). */
export async function lockClientPending(trx: Db, clientId: string): Promise<void> {
  // hashtext collisions only make two clients take turns; they never share a count.
  await trx.raw(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, [PENDING_CAP_LOCK_SPACE, clientId]);
}

/** Whether the client now has more than `cap` pending tasks (counts at most cap + 1 rows). */
export async function overPendingCap(trx: Db, clientId: string, cap: number): Promise<boolean> {
  const r = await trx.raw<{ rows: { n: string }[] }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM tasks WHERE client_id = ? AND status = 'pending' LIMIT ?) p`,
    [clientId, cap + 1],
  );
  return Number(r.rows[0]!.n) > cap;
}
