import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../services/worker/execution/backoff';

describe('backoffDelay (exponential, full jitter, capped)', () => {
  const p = { baseMs: 100, maxMs: 1_000 };
  it('grows exponentially with the attempt at the top of the jitter range', () => {
    const top = () => 0.999999;
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, p, top)), [99, 199, 399, 799]);
  });
  it('is capped', () => {
    assert.equal(backoffDelay(20, p, () => 0.999999), 999);
  });
  it('spreads over the whole range (full jitter)', () => {
    assert.equal(backoffDelay(3, p, () => 0), 0);
    assert.equal(backoffDelay(3, p, () => 0.5), 200);
  });
});
