/**
 * Claims tasks for delivered wake-up messages in batches (group commit): one statement per type
 * claims, for every message of that type that arrived while the previous claim ran, the task that
 * should run next (claim-next.ts: priority, fair share, limits) — not necessarily the task the
 * message names. A claim that fails transiently (database down, deadlock) is retried with the
 * message held unacked; once the worker drains it gives up and lets the broker redeliver.
 *
 * A message that finds nothing to claim is dropped only when no due task of its type is left
 * that it could run: while due rows exist (locked by a concurrent claim, say) it tries again, and
 * when the only due rows belong to clients at their concurrency limit it parks one of them for the
 * sweeper (so the message it spent is not lost). Dropping a message while a due row still relied
 * on it would strand that row until the stale-message sweep.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBatcher, type Batcher } from '../../core/db/batcher';
import { isTransientDatabaseError } from '../../core/db/database';
import type { Logger } from '../../core/log/logger';
import type { Task, TaskMessage } from '../../core/tasks/task';

export interface Claimed {
  task: Task;
  token: string;
}

export interface Claimer {
  /**
   * The claimed task and its lease token; null when no due task of the message's type is left for
   * it (the message was one more than the work); 'stopped' when the worker began draining while
   * the claim could not be made. Throws on a non-transient error.
   */
  claim(msg: TaskMessage, isStopping: () => boolean): Promise<Claimed | null | 'stopped'>;
}

/** What the claimer asks of PostgreSQL (claim-next.ts, bound to the worker's settings). */
export interface ClaimStatements {
  /** Claims up to `named.length` tasks of the type under one fresh token. */
  claimNext: (type: string, named: string[], token: string) => Promise<Task[]>;
  dueClaimable: (type: string, own: string) => Promise<{ claimable: boolean; heldByLimit: boolean }>;
  /** Parks one due row held back by its client's limit; returns how many were parked (0 or 1). */
  parkHeld: (type: string) => Promise<number>;
}

export interface ClaimerOptions extends ClaimStatements {
  logger: Logger;
}

/**
 * Pause before a message tries again while rows it may claim exist but were locked — mostly by the
 * API recording publish confirms (a statement of a millisecond or two) just as the message arrived:
 * 2, 6, 18, 54 … ms, at most a second, jittered.
 */
const recheckMs = (rechecks: number) => Math.min(1_000, 2 * 3 ** (rechecks - 1)) * (0.5 + Math.random());

export function createClaimer(o: ClaimerOptions): Claimer {
  const batchers = new Map<string, Batcher<string, Claimed | null>>();

  function batcherFor(type: string): Batcher<string, Claimed | null> {
    let b = batchers.get(type);
    if (!b) {
      b = createBatcher<string, Claimed | null>({
        spanName: 'tasks claim batch',
        maxBatch: 500,
        maxConcurrent: 2,
        async run(named) {
          const token = randomUUID(); // fences this batch's leases; unique per claim statement
          return assign(named, await o.claimNext(type, named, token), token);
        },
      });
      batchers.set(type, b);
    }
    return b;
  }

  /** Once through the database: claim, else find out whether this message must try again. */
  async function claimOnce(msg: TaskMessage): Promise<Claimed | null | 'again'> {
    const claimed = await batcherFor(msg.type).submit(msg.task_id);
    if (claimed) return claimed;
    const due = await o.dueClaimable(msg.type, msg.task_id);
    if (due.claimable) return 'again';
    if (!due.heldByLimit) return null; // nothing due is left for this message: it was a spare
    // Parked: the message is spent on a row the sweeper now owns. Parked nothing: the client got
    // room (or another message parked the row) since the look; look again rather than drop it.
    return (await o.parkHeld(msg.type)) > 0 ? null : 'again';
  }

  return {
    async claim(msg, isStopping) {
      for (let failures = 0, rechecks = 0; ; ) {
        try {
          const r = await claimOnce(msg);
          if (r !== 'again') return r;
          if (isStopping()) return 'stopped';
          rechecks++;
          await sleep(recheckMs(rechecks));
        } catch (e) {
          if (!isTransientDatabaseError(e)) throw e;
          if (isStopping()) return 'stopped';
          failures++;
          if (failures === 1) o.logger.warn({ task_id: msg.task_id, err: e }, 'claim failed transiently; holding message and retrying');
          await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures, 5)));
        }
      }
    },
  };
}

/**
 * One claimed task per message, in order: a message whose own task was claimed gets it (its
 * trace link then names the right publish), the others get the rest.
 */
function assign(named: string[], tasks: Task[], token: string): (Claimed | null)[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const out: (Claimed | null)[] = named.map((id) => {
    const own = byId.get(id);
    if (!own) return null;
    byId.delete(id);
    return { task: own, token };
  });
  const rest = [...byId.values()];
  return out.map((c) => c ?? (rest.length > 0 ? { task: rest.shift()!, token } : null));
}
