/** The lease reaper: tasks whose worker stopped heartbeating go back to pending (or failed). */
import type { Logger } from '../core/log/logger';
import type { TaskStore } from './data-access/task-store';

export function createReap(store: TaskStore, limit: number, logger: Logger, afterReap: () => Promise<void>): () => Promise<void> {
  const log = logger.child({ module: 'reaper' });
  return async () => {
    const rows = await store.reapExpired(limit);
    if (rows.length === 0) return;
    const failed = rows.filter((r) => r.status === 'failed').length;
    log.warn({ recovered: rows.length - failed, failed }, 'expired leases recovered');
    await afterReap();
  };
}
