/**
 * Decides what a failed attempt becomes — pure, so every case is a table row in its unit test.
 *
 *   drain interrupted it            → release (back to pending now, attempt not counted)
 *   cancelled / lease lost          → abandon (the runner asks the database which one happened)
 *   RetryLaterError(delay)          → retry after `delay` (capped), attempt refunded — a snooze, at most
 *                                     `maxSnoozes` times; after that it counts as an ordinary error
 *   PermanentError                  → dead letter, reason `permanent`
 *   timeout or any other error      → retry with backoff while attempts remain, else dead letter
 */
import type { FailureReason } from '../../core/tasks/task';
import { PermanentError, RetryLaterError } from '../../core/tasks/handler-contract';
import type { AbortKind } from './abort-reason';
import { backoffDelay, type BackoffPolicy } from './backoff';

export interface FailureFacts {
  error: Error;
  /** Why the attempt's signal fired, if it did. */
  abort: AbortKind | null;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
  backoff: BackoffPolicy;
  /** Snoozes so far, and the bounds on them. */
  snoozes: number;
  maxSnoozes: number;
  maxSnoozeMs: number;
  random?: () => number;
}

export type FailureDecision =
  | { kind: 'release' }
  | { kind: 'abandon'; why: 'cancelled' | 'lease_lost' }
  | { kind: 'retry'; reason: FailureReason; message: string; delayMs: number; refundAttempt: boolean }
  | { kind: 'dead_letter'; reason: FailureReason; message: string };

const MAX_MESSAGE = 2_000;

export function classifyFailure(f: FailureFacts): FailureDecision {
  if (f.abort === 'shutdown') return { kind: 'release' };
  if (f.abort === 'cancelled' || f.abort === 'lease_lost') return { kind: 'abandon', why: f.abort };
  const reason: FailureReason = f.abort === 'timeout' ? 'timeout' : f.error instanceof PermanentError ? 'permanent' : 'error';
  const message = reason === 'timeout' ? `timed out after ${f.timeoutMs} ms` : f.error.message.slice(0, MAX_MESSAGE);
  if (reason !== 'timeout' && f.error instanceof RetryLaterError && f.snoozes < f.maxSnoozes) {
    return { kind: 'retry', reason, message, delayMs: Math.min(f.maxSnoozeMs, Math.max(0, f.error.delayMs)), refundAttempt: true };
  }
  if (reason !== 'permanent' && f.attempt < f.maxAttempts) {
    return { kind: 'retry', reason, message, delayMs: backoffDelay(f.attempt, f.backoff, f.random), refundAttempt: false };
  }
  return { kind: 'dead_letter', reason, message };
}
