/**
 * The API's access to schedules: create, read, list, delete, pause, resume, every statement scoped
 * to the caller (an admin's scope is everyone's). The ticking itself is core/schedules/tick.ts.
 * Times that decide when a schedule runs are taken from PostgreSQL's now(), the clock the ticker
 * compares `next_run_at` with, never this process's.
 */
import type { Db } from '../../core/db/database';
import { toSchedule, type Schedule, type ScheduleRow } from '../../core/schedules/schedule';
import { IN_SCOPE, scopeArgs, whereAll, type Scope } from '../../core/tasks/state/sql-fragments';

/** What a client asks for; the rest of a Schedule (state, timestamps) is the database's. */
export type NewSchedule = Pick<
  Schedule,
  'id' | 'clientId' | 'name' | 'cron' | 'timezone' | 'type' | 'payload' | 'maxAttempts' | 'priority' | 'timeoutMs' | 'overlap' | 'missed'
>;

/** The first tick after `now` (PostgreSQL's), or null when the expression has none. */
export type FirstTickAfter = (now: Date) => Date | null;

export interface ScheduleRepository {
  insert(s: NewSchedule, firstTick: FirstTickAfter): Promise<Schedule>;
  /** With PostgreSQL's now(), for the upcoming run times. */
  findById(id: string, scope: Scope): Promise<{ schedule: Schedule; now: Date } | null>;
  /** Newest first; each with its keyset position. */
  list(f: { scope: Scope; after?: { createdAt: string; id: string }; limit: number }): Promise<{ schedule: Schedule; position: { createdAt: string; id: string } }[]>;
  delete(id: string, scope: Scope): Promise<boolean>;
  /** Idempotent; with PostgreSQL's now(). */
  pause(id: string, scope: Scope): Promise<{ schedule: Schedule; now: Date } | null>;
  /** Unpauses; `next_run_at` becomes the first tick after now, so missed ticks make no burst. Idempotent. */
  resume(id: string, scope: Scope, firstTick: (cron: string, timezone: string, now: Date) => Date | null): Promise<{ schedule: Schedule; now: Date } | null>;
}

export function createScheduleRepository(db: Db): ScheduleRepository {
  return {
    async insert(s, firstTick) {
      // One transaction: the first tick is computed from the same now() the row is stamped with.
      return db.transaction(async (trx) => {
        const now = (await trx.raw<{ rows: { now: Date }[] }>(`SELECT now()`)).rows[0]!.now;
        const r = await trx.raw<{ rows: ScheduleRow[] }>(
          `INSERT INTO schedules (id, client_id, name, cron, timezone, type, payload, max_attempts, timeout_ms, priority, overlap, missed, next_run_at)
           VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
           RETURNING *`,
          [s.id, s.clientId, s.name, s.cron, s.timezone, s.type, JSON.stringify(s.payload), s.maxAttempts, s.timeoutMs, s.priority, s.overlap, s.missed, firstTick(now)],
        );
        return toSchedule(r.rows[0]!);
      });
    },

    async findById(id, scope) {
      const r = await db.raw<{ rows: (ScheduleRow & { db_now: Date })[] }>(`SELECT *, now() AS db_now FROM schedules WHERE id = ? AND ${IN_SCOPE}`, [
        id,
        ...scopeArgs(scope),
      ]);
      const row = r.rows[0];
      return row ? { schedule: toSchedule(row), now: row.db_now } : null;
    },

    async list(f) {
      const { where, args } = whereAll([
        ['client_id = ?', [f.scope.clientId]],
        ['(created_at, id) < (?::timestamptz, ?::uuid)', [f.after?.createdAt, f.after?.id]],
      ]);
      const r = await db.raw<{ rows: (ScheduleRow & { position_ts: string })[] }>(
        `SELECT *, created_at::text AS position_ts FROM schedules ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
        [...args, f.limit],
      );
      return r.rows.map((row) => ({ schedule: toSchedule(row), position: { createdAt: row.position_ts, id: row.id } }));
    },

    async delete(id, scope) {
      // Waits for a tick round holding the row; the tasks it made stay (they are ordinary tasks).
      const r = await db.raw<{ rowCount: number }>(`DELETE FROM schedules WHERE id = ? AND ${IN_SCOPE}`, [id, ...scopeArgs(scope)]);
      return r.rowCount === 1;
    },

    async pause(id, scope) {
      const r = await db.raw<{ rows: (ScheduleRow & { db_now: Date })[] }>(
        `UPDATE schedules SET paused = true, updated_at = CASE WHEN paused THEN updated_at ELSE now() END
          WHERE id = ? AND ${IN_SCOPE} RETURNING *, now() AS db_now`,
        [id, ...scopeArgs(scope)],
      );
      const row = r.rows[0];
      return row ? { schedule: toSchedule(row), now: row.db_now } : null;
    },

    async resume(id, scope, firstTick) {
      return db.transaction(async (trx) => {
        const r = await trx.raw<{ rows: (ScheduleRow & { db_now: Date })[] }>(
          `SELECT *, now() AS db_now FROM schedules WHERE id = ? AND ${IN_SCOPE} FOR UPDATE`,
          [id, ...scopeArgs(scope)],
        );
        const row = r.rows[0];
        if (!row) return null;
        if (!row.paused) return { schedule: toSchedule(row), now: row.db_now };
        const u = await trx.raw<{ rows: ScheduleRow[] }>(
          `UPDATE schedules SET paused = false, next_run_at = ?, updated_at = now() WHERE id = ? RETURNING *`,
          [firstTick(row.cron, row.timezone, row.db_now), id],
        );
        return { schedule: toSchedule(u.rows[0]!), now: row.db_now };
      });
    },
  };
}
