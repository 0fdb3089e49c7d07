/**
 * The contract between the worker and a task handler, the same for inline and thread handlers.
 * A handler receives the payload and a context (task id, attempt, an AbortSignal that fires on
 * timeout, cancellation, a lost lease or a drain, a logger) and returns a JSON-serialisable result.
 * Errors say what happens next: `PermanentError` ends the task, `RetryLaterError` reschedules it
 * without spending an attempt, anything else is retried with backoff while attempts remain.
 */
import type { Db } from '../db/database';
import type { Logger } from '../log/logger';

export interface TaskContext {
  taskId: string;
  type: string;
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
  logger: Logger;
  /**
   * Registers a database effect that runs inside the completion transaction: it commits only if
   * this worker still holds the lease, so the effect happens exactly once per task. Inline
   * handlers only: a thread handler has no database connection to run it on.
   */
  onCommit(effect: (trx: Db) => Promise<void>): void;
}

export type TaskHandler = (payload: unknown, ctx: TaskContext) => Promise<unknown>;

/** Throw to fail the task now: no further attempts. */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** Throw to run the task again after `delayMs` without spending an attempt (e.g. a rate limit). */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** The shape an error takes across a thread boundary (structured clone keeps no prototypes). */
export interface SerializedTaskError {
  name: string;
  message: string;
  delayMs?: number;
}

export function serializeTaskError(e: unknown): SerializedTaskError {
  const err = e instanceof Error ? e : new Error(String(e));
  return err instanceof RetryLaterError
    ? { name: err.name, message: err.message, delayMs: err.delayMs }
    : { name: err.name, message: err.message };
}

/** Rebuilds the typed error, so the runner classifies a thread's failure as it would an inline one. */
export function deserializeTaskError(e: SerializedTaskError | undefined): Error {
  if (e?.name === 'PermanentError') return new PermanentError(e.message);
  if (e?.name === 'RetryLaterError' && typeof e.delayMs === 'number') return new RetryLaterError(e.message, e.delayMs);
  const err = new Error(e?.message ?? 'handler thread failed');
  err.name = e?.name ?? 'Error';
  return err;
}
