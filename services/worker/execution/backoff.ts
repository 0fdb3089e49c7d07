/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * delay = random(0, min(cap, base · 2^(attempt-1))). Full jitter spreads a burst of failures
 * evenly instead of retrying them in lockstep.
 */
import type { BackoffPolicy } from '../../core/tasks/task-types';

export type { BackoffPolicy };

export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
