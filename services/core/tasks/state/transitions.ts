/**
 * The task state machine: every transition, who performs it, and what fences it. Each transition
 * has one file in this folder named by its verb, owning its SQL; api and worker call them and
 * write no state-changing SQL of their own. `docs/architecture.md` draws the same table.
 *
 * Every transition is a compare-and-set: the UPDATE names the status it expects (and, once a task
 * is claimed, the lease token), so two actors can never both win, and a worker whose lease was
 * taken over cannot overwrite the new owner's outcome. Terminal states are left only by an
 * operator's retry or replay, which start a new attempt budget.
 *
 * A retry is not a message: a failed attempt puts the row back to `pending` with a later
 * `run_after` and `published_at = NULL`, and the sweeper (sweep-due) publishes it when it is due.
 */
import type { TaskStatus } from '../task';

export type Actor = 'api' | 'worker' | 'reaper' | 'sweeper' | 'operator';

export interface Transition {
  verb: string;
  from: readonly TaskStatus[] | 'none';
  to: readonly TaskStatus[];
  by: Actor;
  /** What the compare-and-set checks beyond the row's status. */
  fence: string;
}

export const TRANSITIONS: readonly Transition[] = [
  { verb: 'insert', from: 'none', to: ['pending'], by: 'api', fence: 'primary key; the Idempotency-Key row and the pending cap (per-client advisory lock) in the same transaction; run_after = the due time of a delayed task; a scheduled task: unique (schedule_id, schedule_tick), a second insert of a tick does nothing' },
  { verb: 'mark-published', from: ['pending'], to: ['pending'], by: 'api', fence: 'never claimed (started_at IS NULL), not yet marked; SKIP LOCKED' },
  { verb: 'sweep-due', from: ['pending'], to: ['pending'], by: 'sweeper', fence: 'due, unconfirmed or stale; SKIP LOCKED' },
  { verb: 'claim', from: ['pending'], to: ['processing'], by: 'worker', fence: 'due (run_after <= now()); published or named by the message; the best due rows of the type (fair share, priority, age) under SKIP LOCKED; a client at CLIENT_MAX_RUNNING offers none; new lease token' },
  { verb: 'park', from: ['pending'], to: ['pending'], by: 'worker', fence: 'due, published, its client at CLIENT_MAX_RUNNING; SKIP LOCKED; back to the sweeper (published_at = NULL)' },
  { verb: 'heartbeat', from: ['processing'], to: ['processing'], by: 'worker', fence: 'lease token' },
  { verb: 'complete', from: ['processing'], to: ['done'], by: 'worker', fence: 'lease token; effects commit in the same transaction' },
  { verb: 'fail', from: ['processing'], to: ['pending', 'failed'], by: 'worker', fence: 'lease token; pending (retry) while attempts remain' },
  { verb: 'release', from: ['processing'], to: ['pending'], by: 'worker', fence: 'lease token; the interrupted attempt is not counted' },
  { verb: 'reap', from: ['processing'], to: ['pending', 'failed'], by: 'reaper', fence: 'lease expired; SKIP LOCKED' },
  { verb: 'cancel', from: ['pending', 'processing'], to: ['cancelled'], by: 'api', fence: 'status (row lock); NOTIFY the running worker' },
  { verb: 'retry', from: ['failed', 'cancelled'], to: ['pending'], by: 'operator', fence: 'status; fresh attempt budget' },
  { verb: 'replay', from: ['failed'], to: ['pending'], by: 'operator', fence: 'status; SKIP LOCKED; run_after spread at the replay rate' },
];

/** True when the table allows `from → to` (used by tests and docs; the SQL is the enforcement). */
export function isAllowed(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS.some((t) => t.from !== 'none' && t.from.includes(from) && t.to.includes(to) && from !== to);
}
