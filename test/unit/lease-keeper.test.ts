/** The lease keeper tracks attempts by task id and lease token, and aborts the ones whose lease is gone. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { leaseKey, type Lease } from '../../services/core/tasks/state/heartbeat';
import { AbortReason } from '../../services/worker/execution/abort-reason';
import { createLeaseKeeper } from '../../services/worker/execution/lease-keeper';

const logger = pino({ level: 'silent' });
const ID = '8c0b2a1e-6f2d-4c59-9f0a-0d6f3c1b2a11';

function keeper(ours: (leases: Lease[]) => Lease[]) {
  const seen: Lease[][] = [];
  const k = createLeaseKeeper({
    extend: (leases) => {
      seen.push(leases);
      return Promise.resolve(new Set(ours(leases).map(leaseKey)));
    },
    heartbeatMs: 60_000,
    logger,
  });
  return { k, seen };
}

const kindOf = (ac: AbortController) => (ac.signal.reason instanceof AbortReason ? ac.signal.reason.kind : null);

describe('lease keeper', () => {
  it('keeps a re-claimed attempt when the stale attempt of the same task ends', async () => {
    const { k, seen } = keeper((l) => l);
    const stale = new AbortController();
    const live = new AbortController();
    const untrackStale = k.track({ id: ID, token: 'old' }, stale);
    k.track({ id: ID, token: 'new' }, live);
    untrackStale(); // the stale attempt's finally runs after the re-claim
    await k.beat();
    assert.deepEqual(seen.at(-1), [{ id: ID, token: 'new' }]);
    assert.equal(k.size(), 1);
    k.stop();
  });

  it('aborts only the attempt whose lease is no longer ours', async () => {
    const { k } = keeper((l) => l.filter((x) => x.token === 'new'));
    const stale = new AbortController();
    const live = new AbortController();
    k.track({ id: ID, token: 'old' }, stale);
    k.track({ id: ID, token: 'new' }, live);
    await k.beat();
    assert.equal(kindOf(stale), 'lease_lost');
    assert.equal(live.signal.aborted, false);
    k.stop();
  });

  it('a failed heartbeat aborts nothing (the lease may still be valid)', async () => {
    const k = createLeaseKeeper({ extend: () => Promise.reject(new Error('down')), heartbeatMs: 60_000, logger });
    const ac = new AbortController();
    k.track({ id: ID, token: 't' }, ac);
    await k.beat();
    assert.equal(ac.signal.aborted, false);
    k.stop();
  });

  it('cancels every attempt of a task, and a drain aborts all', () => {
    const { k } = keeper((l) => l);
    const a = new AbortController();
    const b = new AbortController();
    const other = new AbortController();
    k.track({ id: ID, token: '1' }, a);
    k.track({ id: ID, token: '2' }, b);
    k.track({ id: 'another', token: '3' }, other);
    k.abortTask(ID, 'cancelled');
    assert.deepEqual([kindOf(a), kindOf(b), kindOf(other)], ['cancelled', 'cancelled', null]);
    k.abortAll('shutdown');
    assert.equal(kindOf(other), 'shutdown');
    k.stop();
  });
});
