/**
 * Publishes a committed task's wake-up message and records the broker's confirm in batches.
 * The row is the outbox: a publish that fails here is logged and left to the sweeper, so the
 * HTTP response never waits on the broker.
 */
import type { Publisher } from '../../core/amqp/publisher';
import type { Logger } from '../../core/log/logger';
import type { Task } from '../../core/tasks/task';
import { publishTask } from '../../core/amqp/publish-task';

export interface TaskDispatcher {
  dispatch(task: Pick<Task, 'id' | 'type'>): void;
  /** Waits for in-flight publishes and the last confirm batch (used by the drain). */
  flush(): Promise<void>;
}

export interface DispatcherDeps {
  publisher: Publisher;
  markPublished: (ids: string[]) => Promise<void>;
  logger: Logger;
  /** Extension hook, called after the commit and before the publish (the fault-injection suite exits here). */
  beforePublish?: () => void;
  /** Confirms are written to PostgreSQL at most this often, as one UPDATE. */
  batchIntervalMs?: number;
}

export function createTaskDispatcher(d: DispatcherDeps): TaskDispatcher {
  const log = d.logger.child({ module: 'dispatcher' });
  const inFlight = new Set<Promise<void>>();
  let confirmed: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  function writeBatch(): Promise<void> {
    timer = null;
    const ids = confirmed;
    confirmed = [];
    if (ids.length === 0) return writing;
    // Failure only means the sweeper may publish these once more; the claim absorbs duplicates.
    writing = writing
      .then(() => d.markPublished(ids))
      .catch((err: unknown) => log.warn({ err, count: ids.length }, 'could not record publish confirms'));
    return writing;
  }

  return {
    dispatch(task) {
      d.beforePublish?.();
      const p = publishTask(d.publisher, task)
        .then(() => {
          confirmed.push(task.id);
          timer ??= setTimeout(() => void writeBatch(), d.batchIntervalMs ?? 20);
        })
        .catch((err: unknown) =>
          log.warn({ task_id: task.id, err }, 'publish failed; the sweeper will publish this task'),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async flush() {
      await Promise.all([...inFlight]);
      if (timer) clearTimeout(timer);
      await writeBatch();
    },
  };
}
