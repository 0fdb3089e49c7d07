/**
 * Announces that tasks reached a terminal state (done, failed, cancelled) on one NOTIFY channel, so
 * the API answers requests waiting for them (GET /tasks/:id?wait=…) without polling.
 *
 * Called from the transitions that end a task (complete, fail, cancel, reap). Inside a transaction
 * the notification is delivered on commit, never for a rolled-back change. After an autocommit
 * statement it is best effort: a lost notification (the process dies between the two statements,
 * the connection drops) only delays a waiter until its periodic re-read (`WAIT_RECHECK_MS`).
 */
import type { Db } from '../../db/database';

/** PostgreSQL NOTIFY channel whose payload is a comma-separated list of task ids that became terminal. */
export const TERMINAL_CHANNEL = 'tasker_terminal';

/** NOTIFY payloads are limited to 8000 bytes: 200 ids of 36 characters and a comma fit with room. */
const IDS_PER_NOTIFICATION = 200;

/** One statement, however many ids (one notification per 200 ids). */
export async function notifyTerminal(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const payloads: string[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_NOTIFICATION) payloads.push(ids.slice(i, i + IDS_PER_NOTIFICATION).join(','));
  await db.raw(`SELECT pg_notify(?, p) FROM unnest(?::text[]) AS p`, [TERMINAL_CHANNEL, payloads]);
}

/**
 * A SELECT for a CTE that notifies the ids of the CTE named `from` (its `id` column), 200 per
 * notification, inside the statement that changed them. A plain SELECT in a WITH runs only when
 * referenced: the statement must read it (e.g. `(SELECT count(*) FROM notified)`).
 */
export const NOTIFY_TERMINAL_SQL = (from: string): string =>
  `SELECT pg_notify('${TERMINAL_CHANNEL}', string_agg(id::text, ',')) FROM (
     SELECT id, (row_number() OVER () - 1) / ${IDS_PER_NOTIFICATION} AS chunk FROM ${from}) ids GROUP BY chunk`;

/** After a committed autocommit statement: a failure must not turn a recorded outcome into an error. */
export function notifyTerminalAfterCommit(db: Db, ids: readonly string[]): Promise<void> {
  return notifyTerminal(db, ids).catch(() => undefined);
}

/** Splits a payload of TERMINAL_CHANNEL back into task ids. */
export function parseTerminalPayload(payload: string | undefined): string[] {
  return payload ? payload.split(',').filter((id) => id.length > 0) : [];
}
