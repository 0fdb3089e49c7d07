/**
 * The recovery loops, wired once for every process that runs them: the outbox sweeper (publishes
 * due pending tasks: unconfirmed, retries, recovered leases, stale) and the lease reaper (expired
 * leases back to pending, then a sweep at once). Workers run them, and so does the API, which is
 * always up: with every worker group at zero replicas the API's sweeper is what publishes a due
 * retry, so its queue depth wakes the group (docs/autoscaling.md). Both transitions use SKIP LOCKED,
 * so overlapping runs are safe; an optional `guard` (an advisory lock in the API) bounds the
 * duplicated work to one replica.
 */
import type { Config } from '../config/config';
import type { Broker } from '../amqp/broker';
import type { Publisher } from '../amqp/publisher';
import type { Db } from '../db/database';
import { createPeriodic } from '../lifecycle/periodic';
import type { Logger } from '../log/logger';
import type { ReapedTask } from '../tasks/state/reap';
import type { DueRow, SweepOptions } from '../tasks/state/sweep-due';
import { createReap } from './reaper';
import { createSweep } from './sweeper';

export interface RecoveryLoopsDeps {
  db: Db;
  broker: Broker;
  publisher: Publisher;
  /** `dueIntervalMs`: how often unpublished rows that became due (delayed tasks, retries) are looked for. */
  sweep: SweepOptions & { intervalMs: number; dueIntervalMs: number };
  reap: { intervalMs: number; limit: number };
  logger: Logger;
  /** Runs a loop only while it resolves true (e.g. this replica holds the advisory lock). */
  guard?: () => Promise<boolean>;
  onRepublished?: (rows: DueRow[]) => void;
  onStaleHeld?: (queue: string) => void;
  onReaped?: (rows: ReapedTask[]) => void;
}

/** The sweeper's and reaper's settings, read from the one config (the API's loops and a worker's are the same). */
export function recoverySettings(
  c: Pick<
    Config,
    | 'SWEEP_INTERVAL_MS'
    | 'DUE_POLL_MS'
    | 'SWEEP_BATCH'
    | 'SWEEP_UNCONFIRMED_AFTER_MS'
    | 'SWEEP_REPUBLISH_AFTER_MS'
    | 'SWEEP_REPUBLISH_MAX'
    | 'REAP_INTERVAL_MS'
    | 'CLIENT_MAX_RUNNING'
  >,
): Pick<RecoveryLoopsDeps, 'sweep' | 'reap'> {
  return {
    sweep: {
      intervalMs: c.SWEEP_INTERVAL_MS,
      dueIntervalMs: c.DUE_POLL_MS,
      maxRunning: c.CLIENT_MAX_RUNNING,
      limit: c.SWEEP_BATCH,
      unconfirmedAfterMs: c.SWEEP_UNCONFIRMED_AFTER_MS,
      republishAfterMs: c.SWEEP_REPUBLISH_AFTER_MS,
      staleLimit: c.SWEEP_REPUBLISH_MAX,
    },
    reap: { intervalMs: c.REAP_INTERVAL_MS, limit: c.SWEEP_BATCH },
  };
}

export interface RecoveryLoops {
  start(): void;
  /** Stops both loops and waits for runs in progress; safe twice or before start. */
  stop(): Promise<void>;
  sweepNow(): Promise<void>;
}

export function createRecoveryLoops(d: RecoveryLoopsDeps): RecoveryLoops {
  const guarded = (fn: () => Promise<void>) => async () => {
    if (d.guard && !(await d.guard())) return;
    await fn();
  };
  const sweep = createSweep({
    db: d.db,
    publisher: d.publisher,
    opts: d.sweep,
    queues: d.broker.topology.queues,
    readyMessages: (queue) => d.broker.withChannel(async (ch) => (await ch.checkQueue(queue)).messageCount),
    logger: d.logger,
    onRepublished: d.onRepublished,
    onStaleHeld: d.onStaleHeld,
  });
  const sweeper = createPeriodic('sweeper', d.sweep.intervalMs, guarded(() => sweep({ stale: true })), d.logger);
  // Delayed tasks start within this interval of their due time, without a full sweep each time.
  const due = createPeriodic('due-publisher', d.sweep.dueIntervalMs, guarded(() => sweep({ stale: false })), d.logger);
  const reaper = createPeriodic(
    'reaper',
    d.reap.intervalMs,
    guarded(
      createReap(d.db, d.reap.limit, d.logger, async (rows) => {
        d.onReaped?.(rows);
        await sweeper.runNow(); // publish the recovered tasks now, not a sweep interval later
      }),
    ),
    d.logger,
  );
  return {
    start() {
      sweeper.start();
      due.start();
      reaper.start();
    },
    async stop() {
      await Promise.all([sweeper.stop(), due.stop(), reaper.stop()]);
    },
    sweepNow: () => sweeper.runNow(),
  };
}
