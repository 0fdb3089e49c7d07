/**
 * insert (none → pending) of a batch (POST /tasks/batch): every row, every Idempotency-Key and,
 * under MAX_PENDING_PER_CLIENT, the cap check in ONE transaction — the batch is stored whole or
 * not at all.
 *
 * Keys work as for one task (insert.ts): a key seen before with the same request replays its task
 * instead of inserting, the same key with a different request refuses the batch (`key_reused`,
 * naming the items), an expired key is taken over. Keys are claimed in sorted order so two batches
 * sharing keys wait for each other instead of deadlocking.
 */
import type { Db } from '../../db/database';
import { attachCallbacks } from './attach-callback';
import { insertTasks, type CreatedTask, type IdempotencyClaim, type NewTask } from './insert';
import { lockClientPending, overPendingCap } from './insert-capped';

export interface BatchItem {
  task: NewTask;
  /** Every key of one batch has the same scope (the submitting client) and ttl; keys are distinct. */
  idem?: IdempotencyClaim;
}

export type BatchItemResult = { kind: 'created'; task: CreatedTask } | { kind: 'replay'; taskId: string; response: unknown };

export type BatchInsertResult =
  | { kind: 'inserted'; items: BatchItemResult[] }
  | { kind: 'key_reused'; indexes: number[] }
  | { kind: 'over_cap' };

/** Thrown inside the transaction to roll it back with a result; never escapes this module. */
class Rollback extends Error {
  constructor(readonly result: BatchInsertResult) {
    super(result.kind);
  }
}

/** `cap` 0 = no pending cap. All items belong to one client. */
export async function insertBatch(db: Db, items: readonly BatchItem[], cap: number): Promise<BatchInsertResult> {
  const clientId = items[0]?.task.clientId;
  if (clientId === undefined) return { kind: 'inserted', items: [] };
  try {
    return await db.transaction(async (trx) => {
      if (cap > 0) await lockClientPending(trx, clientId);
      const replays = await claimKeys(trx, items);
      const fresh = items.filter((_, i) => !replays.has(i)).map((it) => it.task);
      if (fresh.length > 0) await insertTasks(trx, fresh);
      await attachCallbacks(
        trx,
        fresh.flatMap((t) => (t.callbackUrl ? [{ taskId: t.id, url: t.callbackUrl }] : [])),
      );
      if (cap > 0 && fresh.length > 0 && (await overPendingCap(trx, clientId, cap))) throw new Rollback({ kind: 'over_cap' });
      return {
        kind: 'inserted',
        items: items.map((it, i): BatchItemResult => replays.get(i) ?? { kind: 'created', task: { id: it.task.id, type: it.task.type } }),
      };
    });
  } catch (e) {
    if (e instanceof Rollback) return e.result;
    throw e;
  }
}

/** Claims the batch's keys; returns the items answered by an earlier request (by index). */
async function claimKeys(trx: Db, items: readonly BatchItem[]): Promise<Map<number, BatchItemResult>> {
  const keyed = items
    .map((it, index) => ({ index, task: it.task, idem: it.idem }))
    .filter((k): k is { index: number; task: NewTask; idem: IdempotencyClaim } => k.idem !== undefined)
    .sort((a, b) => (a.idem.key < b.idem.key ? -1 : a.idem.key > b.idem.key ? 1 : 0));
  const replays = new Map<number, BatchItemResult>();
  const first = keyed[0];
  if (!first) return replays;
  const claimed = await trx.raw<{ rows: { key: string }[] }>(
    `INSERT INTO idempotency_keys (scope, key, request_hash, task_id, response, expires_at)
     SELECT ?, k.key, k.hash, k.task_id, k.response, now() + ?::double precision * interval '1 millisecond'
       FROM unnest(?::text[], ?::text[], ?::uuid[], ?::jsonb[]) AS k(key, hash, task_id, response)
     ON CONFLICT (scope, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, task_id = EXCLUDED.task_id,
           response = EXCLUDED.response, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at <= now()
     RETURNING key`,
    [
      first.idem.scope,
      first.idem.ttlMs,
      keyed.map((k) => k.idem.key),
      keyed.map((k) => k.idem.requestHash),
      keyed.map((k) => k.task.id),
      keyed.map((k) => JSON.stringify(k.idem.response)),
    ],
  );
  const mine = new Set(claimed.rows.map((r) => r.key));
  const known = keyed.filter((k) => !mine.has(k.idem.key));
  if (known.length === 0) return replays;
  const existing = await trx.raw<{ rows: { key: string; request_hash: string; task_id: string; response: unknown }[] }>(
    `SELECT key, request_hash, task_id, response FROM idempotency_keys WHERE scope = ? AND key = ANY(?::text[])`,
    [first.idem.scope, known.map((k) => k.idem.key)],
  );
  const byKey = new Map(existing.rows.map((r) => [r.key, r]));
  const reused: number[] = [];
  for (const k of known) {
    const row = byKey.get(k.idem.key)!;
    if (row.request_hash === k.idem.requestHash) replays.set(k.index, { kind: 'replay', taskId: row.task_id, response: row.response });
    else reused.push(k.index);
  }
  if (reused.length > 0) throw new Rollback({ kind: 'key_reused', indexes: reused.sort((a, b) => a - b) });
  return replays;
}
