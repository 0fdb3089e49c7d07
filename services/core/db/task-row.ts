/** The `tasks` row as PostgreSQL returns it, and its mapping to the application's Task. */
import type { Task, TaskError, TaskStatus } from '../tasks/task';

export interface TaskRow {
  id: string;
  type: string;
  status: TaskStatus;
  payload: unknown;
  result: unknown;
  error: TaskError | null;
  errors: TaskError[];
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  run_after: Date;
  lease_token: string | null;
  lease_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  trace_context: Record<string, string> | null;
}

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
    timeoutMs: r.timeout_ms,
    runAfter: r.run_after,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    traceContext: r.trace_context ?? null,
  };
}
