/**
 * The outbox sweeper: publishes due pending tasks whose message was never confirmed (API crash,
 * broker outage, a retry that just became due, a lease the reaper recovered).
 */
import { publishTask } from '../core/amqp/publish-task';
import type { Publisher } from '../core/amqp/publisher';
import { contextFrom } from '../core/telemetry/tracing';
import type { Db } from '../core/db/database';
import type { Logger } from '../core/log/logger';
import { sweepUnpublished, type SweepOptions } from './data-access/outbox';

export function createSweep(
  db: Db,
  publisher: Publisher,
  opts: SweepOptions,
  logger: Logger,
  onRepublished: (n: number) => void = () => undefined,
): () => Promise<void> {
  const log = logger.child({ module: 'sweeper' });
  return async () => {
    if (!publisher.isReady()) return; // nothing to do until the broker is back
    let total = 0;
    for (;;) {
      const n = await sweepUnpublished(db, opts, async (rows) => {
        // Each publish joins the trace its task was created under.
        const results = await Promise.allSettled(
          rows.map((r) => publishTask(publisher, r, { parent: contextFrom(r.trace_context), republished: true })),
        );
        return rows.filter((_, i) => results[i]?.status === 'fulfilled').map((r) => r.id);
      });
      total += n;
      if (n < opts.limit) break;
    }
    if (total > 0) {
      onRepublished(total);
      log.info({ republished: total }, 'sweeper published unconfirmed tasks');
    }
  };
}
