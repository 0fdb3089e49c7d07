/** cancel: pending/processing → cancelled; a running worker is told through NOTIFY on commit. */
import type { Db } from '../../db/database';
import { toTask, type TaskRow } from '../../db/task-row';
import type { Task, TaskStatus } from '../task';
import { CANCEL_CHANNEL, IN_SCOPE, LEASE_RESET, scopeArgs, type Scope } from './sql-fragments';
import { notifyTerminal } from './terminal-notify';

/** Returns the row after, and whether it was running; null when it was not cancellable (or not visible). */
export function cancelTask(db: Db, id: string, scope: Scope): Promise<{ task: Task; wasRunning: boolean } | null> {
  return db.transaction(async (trx) => {
    const before = await trx.raw<{ rows: { status: TaskStatus }[] }>(
      `SELECT status FROM tasks WHERE id = ? AND ${IN_SCOPE} FOR UPDATE`,
      [id, ...scopeArgs(scope)],
    );
    const was = before.rows[0]?.status;
    if (was !== 'pending' && was !== 'processing') return null;
    const r = await trx.raw<{ rows: TaskRow[] }>(
      `UPDATE tasks SET status = 'cancelled', ${LEASE_RESET}, finished_at = now(), updated_at = now()
        WHERE id = ? RETURNING *`,
      [id],
    );
    // The running worker aborts the handler on this notification (delivered on commit); its
    // heartbeat noticing the lost lease is the fallback.
    if (was === 'processing') await trx.raw(`SELECT pg_notify(?, ?)`, [CANCEL_CHANNEL, id]);
    await notifyTerminal(trx, [id]);
    return { task: toTask(r.rows[0]!), wasRunning: was === 'processing' };
  });
}
