/** The per-address limit on authentication work: burst, refill, refunds and bounded memory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAddressLimiter } from '../../services/api/domain/address-limiter';

describe('address limiter', () => {
  const clock = (start = 1_000_000) => {
    let t = start;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('lets a burst through, then refuses with the wait until the next token', () => {
    const c = clock();
    const l = createAddressLimiter({ ratePerSecond: 1, burst: 3, now: c.now });
    assert.deepEqual([l.take('a'), l.take('a'), l.take('a')], [0, 0, 0]);
    assert.equal(l.take('a'), 1000);
    c.advance(400);
    assert.equal(l.take('a'), 600);
    c.advance(600);
    assert.equal(l.take('a'), 0, 'one token refilled');
    assert.equal(l.take('b'), 0, 'another address has its own burst');
  });

  it('gives the token back to an attempt that authenticated', () => {
    const l = createAddressLimiter({ ratePerSecond: 1, burst: 2, now: clock().now });
    for (let i = 0; i < 10; i++) {
      assert.equal(l.take('a'), 0, `attempt ${i}`);
      l.refund('a');
    }
    l.refund('unknown');
  });

  it('remembers a bounded number of addresses', () => {
    const c = clock();
    const l = createAddressLimiter({ ratePerSecond: 1, burst: 1, maxAddresses: 3, now: c.now });
    for (const a of ['a', 'b', 'c']) assert.equal(l.take(a), 0);
    assert.ok(l.take('a') > 0, 'a is limited');
    assert.equal(l.take('d'), 0, 'a new address makes room by forgetting the oldest');
    assert.equal(l.take('a'), 0, 'a was forgotten');
  });
});
