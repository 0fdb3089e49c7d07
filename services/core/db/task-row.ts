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
