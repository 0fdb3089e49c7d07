/** complete: processing → done, fenced by the lease token. */
import type { Db } from '../../db/database';
import { LEASE_RESET } from './sql-fragments';
import { leaseKey, type Lease } from './heartbeat';
import { NOTIFY_TERMINAL_SQL, notifyTerminal } from './terminal-notify';

export interface Completion extends Lease {
  resultJson: string;
}

/** Completes many tasks without effects in one statement; returns the `id:token` keys that were still ours. */
export async function completeTasks(db: Db, items: Completion[]): Promise<Set<string>> {
  const r = await db.raw<{ rows: { id: string; token: string }[] }>(
    `WITH c AS (SELECT * FROM unnest(?::uuid[], ?::uuid[], ?::jsonb[]) AS c(id, token, result)),
          mine AS (
            SELECT t.id, c.token FROM tasks t JOIN c ON t.id = c.id AND t.lease_token = c.token
             WHERE t.status = 'processing' ORDER BY t.id FOR UPDATE OF t
          ),
          done AS (
            UPDATE tasks t
               SET status = 'done', result = c.result, ${LEASE_RESET}, finished_at = now(), updated_at = now()
              FROM mine JOIN c ON c.id = mine.id AND c.token = mine.token
             WHERE t.id = mine.id
            RETURNING t.id, mine.token
          ),
          -- The terminal NOTIFY in the same statement: it is delivered exactly when the outcome
          -- commits, and costs no second round trip per batch (issue 15).
          notified AS (${NOTIFY_TERMINAL_SQL('done')})
     SELECT done.id, done.token FROM done, (SELECT count(*) FROM notified) AS force_notify`,
    [items.map((i) => i.id), items.map((i) => i.token), items.map((i) => i.resultJson)],
  );
  return new Set(r.rows.map(leaseKey));
}

/**
 * Completes one task and runs `effects` in the same transaction: they commit only if the lease
 * was still ours, so an effect keyed on the task happens exactly once.
 */
export function completeTaskWithEffects(db: Db, c: Completion, effects: ((trx: Db) => Promise<void>)[]): Promise<boolean> {
  return db.transaction(async (trx) => {
    const r = await trx.raw<{ rowCount: number }>(
      `UPDATE tasks SET status = 'done', result = ?::jsonb, ${LEASE_RESET}, finished_at = now(), updated_at = now()
        WHERE id = ? AND lease_token = ? AND status = 'processing'`,
      [c.resultJson, c.id, c.token],
    );
    if (r.rowCount !== 1) return false; // lease lost: the effects must not happen
    for (const effect of effects) await effect(trx);
    await notifyTerminal(trx, [c.id]);
    return true;
  });
}
