/**
 * The contract between the worker and a task handler. A handler receives the payload and a context
 * (task id, attempt, an AbortSignal that fires on timeout, cancellation or lost lease) and returns
 * a JSON-serialisable result. Side effects keyed on `taskId` are applied exactly once.
 */
import type { Db } from '../core/db/database';
import type { Logger } from '../core/log/logger';
import type { TaskTypeDefinition } from '../core/tasks/task-types';

export interface TaskContext {
  taskId: string;
  type: string;
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
  logger: Logger;
  /**
   * Registers a database effect that runs inside the completion transaction: it commits only if
   * this worker still holds the lease, so the effect happens exactly once per task.
   */
  onCommit(effect: (trx: Db) => Promise<void>): void;
}

export type TaskHandler = (payload: unknown, ctx: TaskContext) => Promise<unknown>;

export interface RegisteredType {
  definition: TaskTypeDefinition;
  handler: TaskHandler;
}

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

/** The reason an AbortSignal fired, so the runner can tell a timeout from a shutdown. */
export class AbortReason extends Error {
  constructor(readonly kind: 'timeout' | 'shutdown' | 'lease_lost' | 'cancelled') {
    super(`aborted: ${kind}`);
    this.name = 'AbortReason';
  }
}
