/**
 * Writes an attempt's outcome through the state machine: completion (batched when it carries no
 * effects), failure, release. A write that fails transiently is retried while the lease could
 * still be ours; after that the lease expires and the reaper recovers the task.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createBatcher } from '../../core/db/batcher';
import { isTransientDatabaseError, type Db } from '../../core/db/database';
import type { Logger } from '../../core/log/logger';
import { completeTasks, completeTaskWithEffects, type Completion } from '../../core/tasks/state/complete';
import { failAttempt, type FailedAttempt, type FailOutcome } from '../../core/tasks/state/fail';
import { leaseKey, type Lease } from '../../core/tasks/state/heartbeat';
import { releaseTask } from '../../core/tasks/state/release';
import { statusOf } from '../../core/tasks/state/status-of';
import type { TaskStatus } from '../../core/tasks/task';

export type GaveUp = 'gave_up';

export interface OutcomeWriter {
  /** true: done; false: the lease was taken over (nothing written, effects not applied). */
  complete(c: Completion, effects: ((trx: Db) => Promise<void>)[], log: Logger): Promise<boolean | GaveUp>;
  fail(f: FailedAttempt, log: Logger): Promise<FailOutcome | GaveUp>;
  release(l: Lease, log: Logger): Promise<boolean | GaveUp>;
  statusOf(id: string): Promise<TaskStatus | null>;
}

export function createOutcomeWriter(db: Db, leaseMs: number): OutcomeWriter {
  // Completions of concurrently finishing tasks share one statement (group commit).
  const completions = createBatcher<Completion, boolean>({
    spanName: 'tasks complete batch',
    maxBatch: 500,
    maxConcurrent: 2,
    async run(items) {
      const ours = await completeTasks(db, items);
      return items.map((i) => ours.has(leaseKey(i)));
    },
  });

  async function persist<T>(what: string, fn: () => Promise<T>, log: Logger): Promise<T | GaveUp> {
    const deadline = Date.now() + leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransientDatabaseError(e) || Date.now() > deadline) {
          log.error({ err: e }, `could not record ${what}; the lease will expire and the task will be retried`);
          return 'gave_up';
        }
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }

  return {
    complete: (c, effects, log) =>
      persist('completion', () => (effects.length > 0 ? completeTaskWithEffects(db, c, effects) : completions.submit(c)), log),
    fail: (f, log) => persist('failure', () => failAttempt(db, f), log),
    release: (l, log) => persist('release', () => releaseTask(db, l), log),
    statusOf: (id) => statusOf(db, id).catch(() => null),
  };
}
