/**
 * Claims delivered tasks in batches (group commit): one UPDATE claims every message that arrived
 * while the previous claim ran. A claim that fails transiently (database down, deadlock) is retried
 * with the message held unacked; once the worker drains it gives up and lets the broker redeliver.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBatcher } from '../../core/db/batcher';
import { isTransientDatabaseError } from '../../core/db/database';
import type { Logger } from '../../core/log/logger';
import type { Task } from '../../core/tasks/task';

export interface Claimed {
  task: Task;
  token: string;
}

export interface Claimer {
  /**
   * The claimed task and its lease token; null when the task is not claimable (someone else's,
   * finished, cancelled or not yet due: the message is a duplicate); 'stopped' when the worker
   * began draining while the database was unreachable. Throws on a non-transient error.
   */
  claim(taskId: string, isStopping: () => boolean): Promise<Claimed | null | 'stopped'>;
}

export interface ClaimerOptions {
  /** The claim transition for many ids under one fresh token. */
  claimMany: (ids: string[], token: string) => Promise<Task[]>;
  logger: Logger;
}

export function createClaimer(o: ClaimerOptions): Claimer {
  const batches = createBatcher<string, Claimed | null>({
    spanName: 'tasks claim batch',
    maxBatch: 500,
    maxConcurrent: 2,
    async run(ids) {
      const token = randomUUID(); // fences this batch's leases; unique per claim statement
      const rows = new Map((await o.claimMany([...new Set(ids)], token)).map((t) => [t.id, t]));
      // A duplicate message in the same batch must not claim the task twice.
      return ids.map((id) => {
        const task = rows.get(id);
        rows.delete(id);
        return task ? { task, token } : null;
      });
    },
  });

  return {
    async claim(taskId, isStopping) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await batches.submit(taskId);
        } catch (e) {
          if (!isTransientDatabaseError(e)) throw e;
          if (isStopping()) return 'stopped';
          if (attempt === 1) o.logger.warn({ task_id: taskId, err: e }, 'claim failed transiently; holding message and retrying');
          await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
        }
      }
    },
  };
}
