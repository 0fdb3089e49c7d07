/**
 * The outbox sweeper: publishes due pending tasks whose message was never confirmed (API crash,
 * broker outage, a retry that just became due, a lease the reaper recovered). The query and the
 * marking are the `sweep-due` transition.
 */
import { publishTask } from '../../core/amqp/publish-task';
import type { Publisher } from '../../core/amqp/publisher';
import type { Db } from '../../core/db/database';
import type { Logger } from '../../core/log/logger';
import { sweepDue, type DueRow, type SweepOptions } from '../../core/tasks/state/sweep-due';
import { contextFrom } from '../../core/telemetry/tracing';

export function createSweep(
  db: Db,
  publisher: Publisher,
  opts: SweepOptions,
  logger: Logger,
  onRepublished: (rows: DueRow[]) => void = () => undefined,
): () => Promise<void> {
  const log = logger.child({ module: 'sweeper' });
  return async () => {
    if (!publisher.isReady()) return; // nothing to do until the broker is back
    const published: DueRow[] = [];
    for (;;) {
      const batch = await sweepDue(db, opts, async (rows) => {
        // Each publish joins the trace its task was created under.
        const results = await Promise.allSettled(
          rows.map((r) => publishTask(publisher, r, { parent: contextFrom(r.trace_context), republished: true })),
        );
        return rows.filter((_, i) => results[i]?.status === 'fulfilled');
      });
      published.push(...batch);
      if (batch.length < opts.limit) break;
    }
    if (published.length > 0) {
      onRepublished(published);
      const by = (reason: DueRow['reason']) => published.filter((r) => r.reason === reason).length;
      log.info({ retry: by('retry'), unconfirmed: by('unconfirmed'), stale: by('stale') }, 'sweeper published due tasks');
    }
  };
}
