/**
 * insert (scheduled): none → pending, one task for one tick of a schedule. The row is an ordinary
 * pending task (the shape of insert.ts) with `schedule_id` and `schedule_tick` set; the unique
 * index on that pair (partial: scheduled rows only) makes a second insert of the same tick — by
 * another replica, or a ticker that read a stale `next_run_at` — do nothing, whatever locks were
 * or were not held. That index, not the ticker's row lock, is the exactly-once guarantee.
 */
import type { Db } from '../../db/database';
import type { NewTask } from './insert';

export interface NewScheduledTask extends Omit<NewTask, 'callbackUrl'> {
  scheduleId: string;
  tick: Date;
}

/** True when this call created the task; false when the tick already has one. */
export async function insertScheduledTask(db: Db, t: NewScheduledTask): Promise<boolean> {
  const r = await db.raw<{ rows: { id: string }[] }>(
    `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, trace_context, client_id, priority, schedule_id, schedule_tick)
     VALUES (?, ?, ?::jsonb, ?, ?, ?::jsonb, ?, ?, ?, ?)
     ON CONFLICT (schedule_id, schedule_tick) WHERE schedule_id IS NOT NULL DO NOTHING
     RETURNING id`,
    [t.id, t.type, JSON.stringify(t.payload), t.maxAttempts, t.timeoutMs, JSON.stringify(t.traceContext), t.clientId, t.priority ?? 0, t.scheduleId, t.tick],
  );
  return r.rows.length === 1;
}
