import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBatcher, ItemFailure } from '../../services/core/db/batcher';

describe('batcher (group commit)', () => {
  it('writes items that arrive while a statement runs in the next statement, in order', async () => {
    const batches: number[][] = [];
    const b = createBatcher<number, number>({
      run: async (items) => {
        batches.push(items);
        await new Promise((r) => setTimeout(r, 10));
        return items.map((x) => x * 2);
      },
      spanName: 'test batch',
      maxBatch: 100,
      maxConcurrent: 1,
    });
    const results = await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
    assert.deepEqual(results, [2, 4, 6, 8, 10]);
    assert.deepEqual(batches, [[1], [2, 3, 4, 5]]);
  });

  it('caps batch size and concurrency', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const b = createBatcher<number, number>({
      run: async (items) => {
        running++;
        peak = Math.max(peak, running);
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return items;
      },
      spanName: 'test batch',
      maxBatch: 3,
      maxConcurrent: 2,
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(i)));
    assert.ok(peak <= 2);
    assert.ok(sizes.every((s) => s <= 3));
    assert.equal(sizes.reduce((a, c) => a + c, 0), 20);
  });

  it('fails every item of a failed batch, and keeps going', async () => {
    let call = 0;
    const b = createBatcher<number, number>({
      run: async (items) => {
        call++;
        await Promise.resolve();
        if (call === 1) throw new Error('db down');
        return items;
      },
      spanName: 'test batch',
      maxBatch: 10,
      maxConcurrent: 1,
    });
    await assert.rejects(b.submit(1), /db down/);
    assert.equal(await b.submit(2), 2);
    await b.drain();
  });
});

describe('batcher item failures', () => {
  it('fails only the items the run marks as failed', async () => {
    const b = createBatcher<number, number>({
      spanName: 'test batch',
      run: async (items) => {
        await new Promise((r) => setTimeout(r, 5));
        return items.map((x) => (x === 2 ? new ItemFailure(new Error('bad row')) : x));
      },
      maxBatch: 10,
      maxConcurrent: 1,
    });
    const results = await Promise.allSettled([1, 2, 3].map((x) => b.submit(x)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });
});
