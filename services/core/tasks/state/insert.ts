/** insert: none → pending. Many rows in one statement, or one row with its Idempotency-Key. */
import type { Db } from '../../db/database';
import type { Task } from '../task';

export interface NewTask {
  id: string;
  type: string;
  payload: unknown;
  maxAttempts: number;
  timeoutMs: number;
  traceContext: Record<string, string>;
  clientId: string;
  /** Completion webhook target; written by attach-callback.ts in the inserting transaction. */
  callbackUrl?: string;
  /** −10…10, higher first (claim-next.ts); default 0. */
  priority?: number;
  /** Not before this instant (`run_at`), or this long after the insert (`delay_ms`, on PostgreSQL's clock). */
  runAt?: Date;
  delayMs?: number;
}

/** Whether the task waits for a due time: the API does not publish it; the due-time sweep does. */
export const isDelayed = (t: Pick<NewTask, 'runAt' | 'delayMs'>, now = Date.now()): boolean =>
  (t.delayMs !== undefined && t.delayMs > 0) || (t.runAt !== undefined && t.runAt.getTime() > now);

/** What the caller of an insert needs: the response names the id, the publish the id and type. */
export type CreatedTask = Pick<Task, 'id' | 'type'>;

export interface IdempotencyClaim {
  scope: string;
  key: string;
  requestHash: string;
  ttlMs: number;
  /** The response to replay for this key. */
  response: unknown;
}

export type InsertResult =
  | { kind: 'created'; task: CreatedTask }
  | { kind: 'replay'; taskId: string; response: unknown }
  | { kind: 'key_reused' };

/** knex's binding type has no nullable array elements; pg sends a null element as SQL NULL. */
const nullable = (xs: (string | null)[]): string[] => xs as string[];

/** Inserts the rows in one statement; returns only ids (parsing whole rows back cost CPU nobody used). */
export async function insertTasks(db: Db, batch: NewTask[]): Promise<CreatedTask[]> {
  // A due time never lies in the past (a late `run_at` starts now) and is on PostgreSQL's clock.
  const r = await db.raw<{ rows: { id: string }[] }>(
    `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, trace_context, client_id, priority, run_after)
     SELECT id, type, payload, max_attempts, timeout_ms, trace_context, client_id, priority,
            greatest(coalesce(run_at, now() + delay_ms * interval '1 millisecond', now()), now())
       FROM unnest(?::uuid[], ?::text[], ?::jsonb[], ?::int[], ?::int[], ?::jsonb[], ?::text[], ?::smallint[], ?::timestamptz[], ?::int[])
            AS n(id, type, payload, max_attempts, timeout_ms, trace_context, client_id, priority, run_at, delay_ms)
     RETURNING id`,
    [
      batch.map((t) => t.id),
      batch.map((t) => t.type),
      batch.map((t) => JSON.stringify(t.payload)),
      batch.map((t) => String(t.maxAttempts)),
      batch.map((t) => String(t.timeoutMs)),
      batch.map((t) => JSON.stringify(t.traceContext)),
      batch.map((t) => t.clientId),
      batch.map((t) => String(t.priority ?? 0)),
      nullable(batch.map((t) => t.runAt?.toISOString() ?? null)),
      nullable(batch.map((t) => (t.delayMs === undefined ? null : String(t.delayMs)))),
    ],
  );
  if (r.rows.length !== batch.length) throw new Error(`insert returned ${r.rows.length} of ${batch.length} rows`);
  return batch.map((t) => ({ id: t.id, type: t.type }));
}

/**
 * Inserts the task together with its Idempotency-Key in one transaction. A concurrent request with
 * the same key blocks on the key's primary key until this commits, then sees the row: exactly one
 * task per key. An expired key is taken over.
 */
export function insertTaskWithKey(db: Db, t: NewTask, idem: IdempotencyClaim): Promise<InsertResult> {
  return db.transaction(async (trx) => {
    const claimed = await trx.raw<{ rows: { task_id: string }[] }>(
      `INSERT INTO idempotency_keys (scope, key, request_hash, task_id, response, expires_at)
       VALUES (?, ?, ?, ?, ?::jsonb, now() + ? * interval '1 millisecond')
       ON CONFLICT (scope, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, task_id = EXCLUDED.task_id,
             response = EXCLUDED.response, created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at <= now()
       RETURNING task_id`,
      [idem.scope, idem.key, idem.requestHash, t.id, JSON.stringify(idem.response), idem.ttlMs],
    );
    if (claimed.rows.length === 1) {
      const [task] = await insertTasks(trx, [t]);
      return { kind: 'created', task: task! } as const;
    }
    const existing = await trx.raw<{ rows: { request_hash: string; task_id: string; response: unknown }[] }>(
      `SELECT request_hash, task_id, response FROM idempotency_keys WHERE scope = ? AND key = ?`,
      [idem.scope, idem.key],
    );
    const row = existing.rows[0]!;
    if (row.request_hash !== idem.requestHash) return { kind: 'key_reused' } as const;
    return { kind: 'replay', taskId: row.task_id, response: row.response } as const;
  });
}
