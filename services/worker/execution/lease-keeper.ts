/**
 * Keeps the leases of the attempts running in this worker: one heartbeat statement extends them
 * all, and an attempt whose lease is no longer ours is aborted (`lease_lost`).
 *
 * Attempts are keyed by task id AND lease token: after an outage longer than the lease, the same
 * task can be re-claimed here while its stale attempt still winds down, and the two must never
 * share (or delete) each other's entry.
 */
import type { Logger } from '../../core/log/logger';
import { leaseKey, type Lease } from '../../core/tasks/state/heartbeat';
import { AbortReason, type AbortKind } from './abort-reason';

export interface LeaseKeeper {
  /** Starts keeping the lease; returns the function that stops keeping it. */
  track(lease: Lease, ac: AbortController): () => void;
  /** Aborts every attempt of a task (a cancellation applies to whichever attempt runs it). */
  abortTask(taskId: string, kind: AbortKind): void;
  abortAll(kind: AbortKind): void;
  size(): number;
  /** Runs one heartbeat now (tests, and the timer). */
  beat(): Promise<void>;
  stop(): void;
}

export interface LeaseKeeperOptions {
  extend: (leases: Lease[]) => Promise<Set<string>>;
  heartbeatMs: number;
  logger: Logger;
}

export function createLeaseKeeper(o: LeaseKeeperOptions): LeaseKeeper {
  const held = new Map<string, { lease: Lease; ac: AbortController }>();
  let beating: Promise<void> | null = null;

  const beat = (): Promise<void> => {
    if (beating || held.size === 0) return beating ?? Promise.resolve();
    const leases = [...held.values()].map((h) => h.lease);
    beating = o
      .extend(leases)
      .then(
        (ours) => {
          for (const l of leases) if (!ours.has(leaseKey(l))) held.get(leaseKey(l))?.ac.abort(new AbortReason('lease_lost'));
        },
        (err: unknown) => o.logger.warn({ err, leases: leases.length }, 'heartbeat failed; leases may expire'),
      )
      .finally(() => (beating = null));
    return beating;
  };
  const timer = setInterval(() => void beat(), o.heartbeatMs);
  timer.unref();

  return {
    track(lease, ac) {
      const key = leaseKey(lease);
      held.set(key, { lease, ac });
      return () => {
        if (held.get(key)?.ac === ac) held.delete(key);
      };
    },
    abortTask(taskId, kind) {
      for (const h of held.values()) if (h.lease.id === taskId) h.ac.abort(new AbortReason(kind));
    },
    abortAll(kind) {
      for (const h of held.values()) h.ac.abort(new AbortReason(kind));
    },
    size: () => held.size,
    beat,
    stop: () => clearInterval(timer),
  };
}
