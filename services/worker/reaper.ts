/** The lease reaper: tasks whose worker stopped heartbeating go back to pending (or failed). */
import type { Logger } from '../core/log/logger';
import type { TaskStore } from './data-access/task-store';
import type { WorkerMetrics } from './metrics';

export function createReap(
  store: TaskStore,
  limit: number,
  logger: Logger,
  afterReap: () => Promise<void>,
  metrics?: WorkerMetrics,
): () => Promise<void> {
  const log = logger.child({ module: 'reaper' });
  return async () => {
    const rows = await store.reapExpired(limit);
    if (rows.length === 0) return;
    for (const r of rows) {
      const failed = r.status === 'failed';
      metrics?.leaseTakeovers.inc({ outcome: failed ? 'failed' : 'requeued' });
      if (failed) metrics?.finished.inc({ type: r.type, outcome: 'dead_lettered' });
    }
    const failed = rows.filter((r) => r.status === 'failed').length;
    log.warn({ recovered: rows.length - failed, failed }, 'expired leases recovered');
    await afterReap();
  };
}
