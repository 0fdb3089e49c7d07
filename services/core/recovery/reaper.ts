/** The lease reaper: tasks whose worker stopped heartbeating go back to pending (or failed), through the `reap` transition. */
import type { Db } from '../db/database';
import type { Logger } from '../log/logger';
import { reapExpiredLeases, type ReapedTask } from '../tasks/state/reap';

export function createReap(
  db: Db,
  limit: number,
  logger: Logger,
  afterReap: (rows: ReapedTask[]) => Promise<void>,
): () => Promise<void> {
  const log = logger.child({ module: 'reaper' });
  return async () => {
    const rows = await reapExpiredLeases(db, limit);
    if (rows.length === 0) return;
    const failed = rows.filter((r) => r.status === 'failed').length;
    log.warn({ recovered: rows.length - failed, failed }, 'expired leases recovered');
    await afterReap(rows);
  };
}
