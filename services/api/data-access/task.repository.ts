/**
 * The API's access to tasks: reads (one task, listings) and the calls into the state machine
 * (core/tasks/state) for every change. Concurrent submissions share one multi-row INSERT (group
 * commit): every caller still gets its 202 only after the statement holding its row has
 * committed. Under a pending cap, submissions go through `core/tasks/state/insert-capped.ts` instead.
 */
import { createBatcher, ItemFailure } from '../../core/db/batcher';
import { insertCapped, type CappedInsertResult } from '../../core/tasks/state/insert-capped';
import type { Db } from '../../core/db/database';
import { toTask, type TaskRow } from '../../core/db/task-row';
import { attachCallbacks } from '../../core/tasks/state/attach-callback';
import { cancelTask } from '../../core/tasks/state/cancel';
import { insertBatch, type BatchInsertResult, type BatchItem } from '../../core/tasks/state/insert-batch';
import { insertTasks, insertTaskWithKey, type CreatedTask, type IdempotencyClaim, type InsertResult, type NewTask } from '../../core/tasks/state/insert';
import { markPublished } from '../../core/tasks/state/mark-published';
import { countReplayable, replayFailed, type ReplayFilter } from '../../core/tasks/state/replay';
import { retryTask } from '../../core/tasks/state/retry';
import { IN_SCOPE, scopeArgs, whereAll, type Scope } from '../../core/tasks/state/sql-fragments';
import { TERMINAL_STATUSES, type Task, type TaskStatus } from '../../core/tasks/task';
import { DELIVERY_JSON, type TaskCallbackState } from './webhook-delivery.repository';

export type { BatchInsertResult, BatchItem, CappedInsertResult, CreatedTask, IdempotencyClaim, InsertResult, NewTask, Scope };

export interface ListFilter {
  status?: TaskStatus;
  type?: string;
  createdAfter?: string;
  createdBefore?: string;
  /** Case-insensitive substring of any recorded error message. */
  errorText?: string;
  scope: Scope;
  /** Keyset cursor: the last row of the previous page (created_at as PostgreSQL text, full precision). */
  after?: { createdAt: string; id: string };
  limit: number;
}

export interface TaskRepository {
  insert(t: NewTask, idem?: IdempotencyClaim): Promise<InsertResult>;
  /** Inserts unless the client would have more than `cap` pending tasks; a known Idempotency-Key replays first. */
  insertCapped(t: NewTask, idem: IdempotencyClaim | undefined, cap: number): Promise<CappedInsertResult>;
  /** Many tasks in one transaction: all stored or none (`cap` 0 = no pending cap). */
  insertBatch(items: readonly BatchItem[], cap: number): Promise<BatchInsertResult>;
  /** With its callback and webhook deliveries (null: the task has no callback). */
  findById(id: string, scope: Scope): Promise<(Task & { callback: TaskCallbackState | null }) | null>;
  /** Which of these ids are terminal (the waiters' re-read). */
  findTerminal(ids: string[]): Promise<string[]>;
  /** Newest first; each row with its keyset position for the next page's cursor. */
  list(f: ListFilter): Promise<{ task: Task; position: { createdAt: string; id: string } }[]>;
  markPublished(ids: string[]): Promise<void>;
  cancel(id: string, scope: Scope): Promise<{ task: Task; wasRunning: boolean } | null>;
  retry(id: string, extraAttempts: number, scope: Scope): Promise<Task | null>;
  replayFailed(f: ReplayFilter): Promise<number>;
  countReplayable(f: Pick<ReplayFilter, 'type' | 'reason' | 'scope' | 'limit'>): Promise<number>;
  deleteExpiredIdempotencyKeys(limit: number): Promise<number>;
}

export function createTaskRepository(db: Db): TaskRepository {
  const inserts = createBatcher<NewTask, CreatedTask>({
    spanName: 'tasks insert batch',
    maxBatch: 500,
    // One statement in flight: everything that arrives meanwhile joins the next one. Measured
    // (50 connections, alternating runs): 1 in flight 2.8-4.2k req/s at 0.17-0.26 ms CPU per
    // request, 2 in flight 2.4-3.6k, 4 in flight 1.9-2.7k — smaller batches cost more per row.
    maxConcurrent: 1,
    async run(batch) {
      try {
        return await insertTasks(db, batch);
      } catch (e) {
        // A row the database rejects (data or constraint error) must not fail the requests that
        // happened to share its statement: retry them one by one and fail only the offender.
        const code = (e as { code?: unknown }).code;
        if (batch.length === 1 || typeof code !== 'string' || !/^2[23]/.test(code)) throw e;
        const each = await Promise.allSettled(batch.map((t) => insertTasks(db, [t])));
        return each.map((r) => (r.status === 'fulfilled' ? r.value[0]! : new ItemFailure(r.reason)));
      }
    },
  });

  /** A task with a callback is inserted in a transaction that writes its callback too (outside the group commit). */
  const withCallback = <R extends { kind: string }>(t: NewTask, insert: (db: Db) => Promise<R>): Promise<R> => {
    const url = t.callbackUrl;
    if (url === undefined) return insert(db);
    return db.transaction(async (trx) => {
      const r = await insert(trx);
      if (r.kind === 'created') await attachCallbacks(trx, [{ taskId: t.id, url }]);
      return r;
    });
  };

  return {
    insert: (t, idem) =>
      t.callbackUrl === undefined && !idem
        ? inserts.submit(t).then((task) => ({ kind: 'created', task }) as const)
        : withCallback(t, async (trx): Promise<InsertResult> => (idem ? insertTaskWithKey(trx, t, idem) : { kind: 'created', task: (await insertTasks(trx, [t]))[0]! })),
    insertCapped: (t, idem, cap) => withCallback(t, (trx) => insertCapped(trx, t, idem, cap)),
    insertBatch: (items, cap) => insertBatch(db, items, cap),

    async findTerminal(ids) {
      const r = await db.raw<{ rows: { id: string }[] }>(`SELECT id FROM tasks WHERE id = ANY(?::uuid[]) AND status = ANY(?::text[])`, [
        ids,
        [...TERMINAL_STATUSES],
      ]);
      return r.rows.map((row) => row.id);
    },

    async findById(id, scope) {
      const r = await db.raw<{ rows: (TaskRow & { callback: TaskCallbackState | null })[] }>(
        `SELECT t.*, CASE WHEN c.task_id IS NOT NULL THEN jsonb_build_object('url', c.url, 'deliveries',
                  (SELECT coalesce(jsonb_agg(${DELIVERY_JSON} ORDER BY d.created_at), '[]'::jsonb) FROM webhook_deliveries d WHERE d.task_id = t.id)) END AS callback
           FROM tasks t LEFT JOIN task_callbacks c ON c.task_id = t.id WHERE t.id = ? AND ${IN_SCOPE}`,
        [id, ...scopeArgs(scope)],
      );
      const row = r.rows[0];
      return row ? { ...toTask(row), callback: row.callback } : null;
    },

    async list(f) {
      const { where, args } = whereAll([
        ['client_id = ?', [f.scope.clientId]],
        ['status = ?', [f.status]],
        ['type = ?', [f.type]],
        ['created_at >= ?::timestamptz', [f.createdAfter]],
        ['created_at < ?::timestamptz', [f.createdBefore]],
        // Walks the page's index order and filters: a rare text costs a longer walk, bounded by
        // the statement timeout (README "Web console").
        [`EXISTS (SELECT 1 FROM jsonb_array_elements(errors) e WHERE e->>'message' ILIKE ?)`, [f.errorText === undefined ? undefined : `%${escapeLike(f.errorText)}%`]],
        ['(created_at, id) < (?::timestamptz, ?::uuid)', [f.after?.createdAt, f.after?.id]],
      ]);
      const r = await db.raw<{ rows: (TaskRow & { position_ts: string })[] }>(
        `SELECT *, created_at::text AS position_ts FROM tasks ${where}
         ORDER BY created_at DESC, id DESC LIMIT ?`,
        [...args, f.limit],
      );
      return r.rows.map((row) => ({ task: toTask(row), position: { createdAt: row.position_ts, id: row.id } }));
    },

    markPublished: (ids) => markPublished(db, ids),
    cancel: (id, scope) => cancelTask(db, id, scope),
    retry: (id, extraAttempts, scope) => retryTask(db, id, extraAttempts, scope),
    replayFailed: (f) => replayFailed(db, f),
    countReplayable: (f) => countReplayable(db, f),

    async deleteExpiredIdempotencyKeys(limit) {
      const r = await db.raw<{ rowCount: number }>(
        `DELETE FROM idempotency_keys WHERE ctid IN (
           SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT ?)`,
        [limit],
      );
      return r.rowCount;
    },
  };
}

/** `text` matched literally by LIKE/ILIKE (backslash is the default escape character). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
