/**
 * replay (operator): up to `limit` failed tasks → pending, spread `spacingMs` apart so the sweeper
 * releases them at a rate. `started_at` stays set (failed tasks have all started): the sweeper, not
 * the API, publishes a replay, each row as soon as it is due — no grace period for an API publish.
 */
import type { Db } from '../../db/database';
import type { FailureReason } from '../task';
import { whereAll, type Scope } from './sql-fragments';

export interface ReplayFilter {
  type?: string;
  reason?: FailureReason;
  limit: number;
  spacingMs: number;
  extraAttempts: (type: string) => number;
  scope: Scope;
}

const failedMatching = (f: Pick<ReplayFilter, 'type' | 'reason' | 'scope'>) =>
  whereAll([
    [`status = 'failed'`, []],
    ['client_id = ?', [f.scope.clientId]],
    ['type = ?', [f.type]],
    [`error->>'reason' = ?`, [f.reason]],
  ]);

/** How many failed tasks a replay with this filter would take (at most `limit`); changes nothing. */
export async function countReplayable(db: Db, f: Pick<ReplayFilter, 'type' | 'reason' | 'scope' | 'limit'>): Promise<number> {
  const { where, args } = failedMatching(f);
  const r = await db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM tasks ${where} LIMIT ?) m`, [...args, f.limit]);
  return r.rows[0]?.n ?? 0;
}

export function replayFailed(db: Db, f: ReplayFilter): Promise<number> {
  return db.transaction(async (trx) => {
    const { where, args } = failedMatching(f);
    const picked = await trx.raw<{ rows: { id: string; type: string }[] }>(
      `SELECT id, type FROM tasks ${where} ORDER BY finished_at LIMIT ? FOR UPDATE SKIP LOCKED`,
      [...args, f.limit],
    );
    const rows = picked.rows;
    if (rows.length === 0) return 0;
    await trx.raw(
      `UPDATE tasks t SET status = 'pending', max_attempts = t.attempts + v.extra,
              run_after = now() + v.ord * ? * interval '1 millisecond', result = NULL,
              finished_at = NULL, published_at = NULL, snoozes = 0, updated_at = now()
         FROM unnest(?::uuid[], ?::int[], ?::int[]) AS v(id, extra, ord)
        WHERE t.id = v.id`,
      [f.spacingMs, rows.map((r) => r.id), rows.map((r) => f.extraAttempts(r.type)), rows.map((_, i) => i)],
    );
    return rows.length;
  });
}
