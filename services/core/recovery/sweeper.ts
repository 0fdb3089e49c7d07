/**
 * The outbox sweeper: publishes due pending tasks whose message was never confirmed (API crash,
 * broker outage, a retry that just became due, a lease the reaper recovered) through the
 * `sweep-due` transition, and republishes stale ones only where their queue has nothing ready.
 */
import { publishTask } from '../amqp/publish-task';
import type { Publisher } from '../amqp/publisher';
import type { QueueSpec } from '../amqp/topology';
import type { Db } from '../db/database';
import type { Logger } from '../log/logger';
import { sweepDue, typesWithStaleRows, type DueRow, type SweepOptions } from '../tasks/state/sweep-due';
import { contextFrom } from '../telemetry/tracing';

export interface SweepDeps {
  db: Db;
  publisher: Publisher;
  opts: SweepOptions;
  /** Every queue of the installation (the sweeper publishes for all types, not only this worker's). */
  queues: readonly QueueSpec[];
  /** Ready messages in a queue; null when it cannot be read now. */
  readyMessages: (queue: string) => Promise<number | null>;
  logger: Logger;
  onRepublished?: (rows: DueRow[]) => void;
  /** A queue whose stale rows were held back this sweep because it still has messages ready. */
  onStaleHeld?: (queue: string) => void;
}

/** One sweep; `stale: false` (the due-time loop) publishes only unpublished due rows, without the broker look-ups of the stale path. */
export function createSweep(d: SweepDeps): (o?: { stale: boolean }) => Promise<void> {
  const log = d.logger.child({ module: 'sweeper' });

  /**
   * Types with stale rows whose queue is empty: only there can a pending, published row have lost
   * its message. Queues are looked at only when they have stale rows (no broker round trip per sweep).
   */
  async function staleTypes(): Promise<string[]> {
    const candidates = new Set(await typesWithStaleRows(d.db, d.opts.republishAfterMs));
    if (candidates.size === 0) return [];
    const types: string[] = [];
    for (const q of d.queues.filter((x) => x.types.some((t) => candidates.has(t)))) {
      const ready = await d.readyMessages(q.name).catch(() => null);
      if (ready === 0) types.push(...q.types);
      else if (ready !== null) d.onStaleHeld?.(q.name);
    }
    return types;
  }

  return async ({ stale: withStale } = { stale: true }) => {
    if (!d.publisher.isReady()) return; // nothing to do until the broker is back
    const stale = withStale ? await staleTypes() : [];
    const published: DueRow[] = [];
    for (let sweeps = 0; ; sweeps++) {
      // Stale rows once per run (their cap is per sweep); unconfirmed and retry rows until none are left.
      const batch = await sweepDue(
        d.db,
        d.opts,
        async (rows) => {
          // Each publish joins the trace its task was created under.
          const results = await Promise.allSettled(
            rows.map((r) => publishTask(d.publisher, r, { parent: contextFrom(r.trace_context), republished: true })),
          );
          return rows.filter((_, i) => results[i]?.status === 'fulfilled');
        },
        sweeps === 0 ? stale : [],
      );
      published.push(...batch);
      if (batch.length < d.opts.limit) break;
    }
    if (published.length > 0) {
      d.onRepublished?.(published);
      const by = (reason: DueRow['reason']) => published.filter((r) => r.reason === reason).length;
      log.info({ retry: by('retry'), unconfirmed: by('unconfirmed'), stale: by('stale') }, 'sweeper published due tasks');
    }
  };
}
