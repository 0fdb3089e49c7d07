/** fail: processing → pending (a retry, due `retryInMs` from now) or → failed (dead letter), fenced by the lease token. */
import type { Db } from '../../db/database';
import type { TaskError } from '../task';
import { appendErrors, ATTEMPT_START, LEASE_RESET } from './sql-fragments';
import type { Lease } from './heartbeat';
import { notifyTerminalAfterCommit } from './terminal-notify';

export type FailOutcome = 'retried' | 'failed' | 'lease_lost';

export interface FailedAttempt extends Lease {
  error: TaskError;
  /** Delay before the retry, on PostgreSQL's clock (the one claims and the reaper use); null: no further attempt (failed). */
  retryInMs: number | null;
  /** A retry-later reschedule (snooze) gives the attempt back and counts a snooze. */
  refundAttempt: boolean;
}

/** `published_at = NULL` makes the sweeper publish the retry once it is due. */
export async function failAttempt(db: Db, f: FailedAttempt): Promise<FailOutcome> {
  const retry = f.retryInMs !== null;
  const r = await db.raw<{ rows: { status: string }[] }>(
    `UPDATE tasks
        SET status = CASE WHEN ?::boolean THEN 'pending' ELSE 'failed' END,
            attempts = attempts - CASE WHEN ?::boolean THEN 1 ELSE 0 END,
            snoozes = snoozes + CASE WHEN ?::boolean THEN 1 ELSE 0 END,
            run_after = coalesce(now() + ?::double precision * interval '1 millisecond', run_after),
            error = ?::jsonb || ${ATTEMPT_START}, errors = ${appendErrors('errors', `jsonb_build_array(?::jsonb || ${ATTEMPT_START})`)},
            ${LEASE_RESET}, published_at = NULL,
            finished_at = CASE WHEN ?::boolean THEN NULL ELSE now() END, updated_at = now()
      WHERE id = ? AND lease_token = ? AND status = 'processing'
    RETURNING status`,
    [retry, f.refundAttempt, f.refundAttempt, f.retryInMs, JSON.stringify(f.error), JSON.stringify(f.error), retry, f.id, f.token],
  );
  const row = r.rows[0];
  if (!row) return 'lease_lost';
  if (row.status === 'pending') return 'retried';
  await notifyTerminalAfterCommit(db, [f.id]);
  return 'failed';
}
