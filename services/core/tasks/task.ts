/**
 * The task contract shared by the API and the worker.
 *
 * Glossary
 * - task: a unit of work submitted through the API; one row in `tasks`.
 * - type: which handler runs a task; each type has its queue, timeout and retry policy.
 * - attempt: one execution of a task's handler; `attempts` counts them.
 * - lease: a worker's time-limited claim on a running task, extended by heartbeats, fenced by a token.
 * - dead letter: a task that exhausted its attempts or failed permanently; kept with its reason.
 * - in flight: claimed and running, not yet terminal.
 * - drain: stop taking work and finish what is in flight before exiting.
 */

export const TASK_STATUSES = ['pending', 'processing', 'done', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['done', 'failed', 'cancelled'];

/** Why an attempt (or the task) failed. */
export type FailureReason = 'error' | 'timeout' | 'permanent' | 'crashed';

export interface TaskError {
  reason: FailureReason;
  message: string;
  attempt: number;
  at: string;
  /** When the failed attempt started (absent on errors recorded before it was kept). */
  started_at?: string | null;
}

/** A row of `tasks` as the application sees it. */
export interface Task {
  id: string;
  type: string;
  status: TaskStatus;
  payload: unknown;
  result: unknown;
  error: TaskError | null;
  /** Every failed attempt's error, oldest first (bounded). */
  errors: TaskError[];
  attempts: number;
  maxAttempts: number;
  /** Reschedules by RetryLaterError that spent no attempt (bounded by MAX_SNOOZES). */
  snoozes: number;
  timeoutMs: number;
  /** −10…10; higher starts first among the owner's due tasks of its type (claim-next.ts). */
  priority: number;
  runAfter: Date;
  leaseToken: string | null;
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** First start of the task's life (cleared by an operator's retry). */
  startedAt: Date | null;
  /** Start of the current (or last) attempt. */
  attemptStartedAt: Date | null;
  finishedAt: Date | null;
  /** The schedule that created it (one task per schedule and tick), or null. */
  scheduleId: string | null;
  /** W3C trace context (traceparent/tracestate) the task was created under. */
  traceContext: Record<string, string> | null;
}

/** The body of a wake-up message: it names a task, it does not own its state. */
export interface TaskMessage {
  task_id: string;
  type: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** Parses a message body; returns null for anything that is not a well-formed TaskMessage. */
export function parseTaskMessage(content: Buffer): TaskMessage | null {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { task_id, type } = body as Record<string, unknown>;
  if (typeof task_id !== 'string' || !isUuid(task_id) || typeof type !== 'string') return null;
  return { task_id, type };
}
