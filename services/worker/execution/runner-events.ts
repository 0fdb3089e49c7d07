/**
 * What the task runner tells its observers. Metrics and tracing subscribe here instead of being
 * woven through the runner (see observe/).
 */
import type { FailureReason, Task } from '../../core/tasks/task';

export type RunOutcome = 'done' | 'retried' | 'failed' | 'timeout' | 'cancelled' | 'skipped' | 'released' | 'lease_lost';

export interface DeliveryMeta {
  queue: string;
  headers?: Record<string, unknown>;
}

export interface AttemptEnd {
  outcome: RunOutcome;
  reason?: FailureReason;
  /** The task reached a terminal state in this attempt. */
  terminal: boolean;
  /** Handler run time plus the outcome write. */
  seconds: number;
}

export interface RunnerObserver {
  /** Wraps the claim of a delivered message (tracing: runs it in the message's context). */
  aroundClaim?<T>(meta: DeliveryMeta, claim: () => Promise<T>): Promise<T>;
  /** Wraps a claimed task's whole attempt (tracing: the CONSUMER span). */
  aroundAttempt?(task: Task, meta: DeliveryMeta, attempt: () => Promise<AttemptEnd>): Promise<AttemptEnd>;
  /** Wraps the handler call alone (tracing: the handler's span). */
  aroundHandler?<T>(task: Task, run: () => Promise<T>): Promise<T>;
  attemptStarted?(task: Task): void;
  attemptEnded?(task: Task, end: AttemptEnd): void;
}
