/** The `tasks` row as PostgreSQL returns it, and its mapping to the application's Task. */
import type { Task } from '../tasks/task';

/** snake_case of a camelCase name, as a type: `maxAttempts` → `max_attempts`. */
type Snake<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}` : S;

/** The row is the Task with PostgreSQL's column names (derived, so the two cannot drift). */
export type TaskRow = { [K in keyof Task as Snake<K & string>]: Task[K] };

export function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    payload: r.payload,
    result: r.result,
    error: r.error,
    errors: r.errors ?? [],
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    snoozes: r.snoozes,
    timeoutMs: r.timeout_ms,
    priority: r.priority ?? 0,
    runAfter: r.run_after,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    attemptStartedAt: r.attempt_started_at ?? null,
    finishedAt: r.finished_at,
    traceContext: r.trace_context ?? null,
    scheduleId: r.schedule_id ?? null,
  };
}

type DateColumn = { [K in keyof TaskRow]-?: [TaskRow[K]] extends [Date | null] ? (Date extends TaskRow[K] ? K : never) : never }[keyof TaskRow];

/** Every timestamptz column of `tasks`; the check below fails to compile when one is left out. */
const DATE_COLUMNS = ['run_after', 'lease_expires_at', 'created_at', 'updated_at', 'started_at', 'attempt_started_at', 'finished_at'] as const satisfies readonly DateColumn[];
const everyDateColumn: Exclude<DateColumn, (typeof DATE_COLUMNS)[number]> extends never ? true : never = true;
void everyDateColumn;

/** A row read as JSON (`to_jsonb(t)`): its timestamps arrive as strings, the Task has Dates. */
export function reviveDates(row: TaskRow): TaskRow {
  const r = row as unknown as Record<string, unknown>;
  for (const k of DATE_COLUMNS) {
    if (typeof r[k] === 'string') r[k] = new Date(r[k]);
  }
  return row;
}
