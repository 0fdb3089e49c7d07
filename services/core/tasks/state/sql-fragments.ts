/**
 * SQL shared by the transitions, written once. Every transition that ends a lease clears the
 * same three columns; every recorded failure appends to the same bounded history.
 */

/** Clears a lease (any transition out of `processing`); the CHECK constraint requires all three. */
export const LEASE_RESET = 'lease_token = NULL, lease_expires_at = NULL, locked_by = NULL';

/** `errors` keeps the newest 20 entries; `entryArray` is a jsonb array expression. */
export const appendErrors = (errorsColumn: string, entryArray: string): string =>
  `jsonb_path_query_array(${errorsColumn} || ${entryArray}, '$[last - 19 to last]')`;

/** An instant as the API writes it (`toISOString()`: UTC, milliseconds, `Z`). */
export const isoText = (expr: string): string => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A failed attempt's error entry records when the attempt started (the row's value before the update). */
export const ATTEMPT_START = `jsonb_build_object('started_at', ${isoText('attempt_started_at')})`;

/** PostgreSQL NOTIFY channel on which a cancellation of a running task is announced. */
export const CANCEL_CHANNEL = 'tasker_cancel';

/**
 * AND-joins the conditions whose values are all set (a condition with no values always applies);
 * unset filters (undefined, or null for an admin's scope) drop out.
 */
export function whereAll(list: [sql: string, values: (string | null | undefined)[]][]): { where: string; args: string[] } {
  const active = list.filter(([, values]) => values.every((v) => v !== undefined && v !== null));
  return {
    where: active.length > 0 ? `WHERE ${active.map(([sql]) => sql).join(' AND ')}` : '',
    args: active.flatMap(([, values]) => values as string[]),
  };
}

/**
 * `limits`: each client named by CLIENT_MAX_RUNNING with its room (the limit minus its running
 * tasks, all types). Takes the two arrays of `limitsArgs` as arguments.
 */
export const LIMITS_CTE = `limits AS (
     SELECT l.client_id, l.max_running - (SELECT count(*) FROM tasks p WHERE p.status = 'processing' AND p.client_id = l.client_id) AS room
       FROM unnest(?::text[], ?::int[]) AS l(client_id, max_running)
   )`;
export const limitsArgs = (maxRunning: ReadonlyMap<string, number>): [string[], number[]] => [[...maxRunning.keys()], [...maxRunning.values()]];

/** Whose tasks a statement may touch: one client's, or (admin) everyone's. */
export interface Scope {
  clientId: string | null;
}

/** `AND client_id = …` unless the scope is an admin's; takes the scope twice as arguments. */
export const IN_SCOPE = '(?::text IS NULL OR client_id = ?)';
export const scopeArgs = (s: Scope): (string | null)[] => [s.clientId, s.clientId];
