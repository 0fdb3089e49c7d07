/**
 * The claimer's decisions per wake-up message (pure: the statements are fakes; the statements
 * themselves are tested on the real database in state-transitions.test.ts): a message gets its own
 * task when that task was claimed, otherwise another; a message that finds nothing tries again
 * while claimable rows exist, parks a row of a client at its limit, and is dropped only when
 * nothing is left for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createClaimer, type ClaimStatements } from '../../services/worker/execution/claimer';
import type { Task } from '../../services/core/tasks/task';

const logger = pino({ level: 'silent' });
const task = (id: string) => ({ id, type: 't' }) as Task;
const msg = (id: string) => ({ task_id: id, type: 't' });

function fake(script: Partial<ClaimStatements> & { rows?: Task[][] }) {
  const calls: string[] = [];
  const rows = [...(script.rows ?? [])];
  const s: ClaimStatements = {
    claimNext: script.claimNext ?? ((_type, named) => (calls.push(`claim ${named.length}`), Promise.resolve(rows.shift() ?? []))),
    dueClaimable: script.dueClaimable ?? (() => (calls.push('due?'), Promise.resolve({ claimable: false, heldByLimit: false }))),
    parkHeld: script.parkHeld ?? (() => (calls.push('park'), Promise.resolve(1))),
  };
  return { claimer: createClaimer({ ...s, logger }), calls };
}

describe('claimer', () => {
  it('gives a message its own task when that was claimed, and another task otherwise', async () => {
    const batches: string[][] = [];
    const { claimer } = fake({
      claimNext: async (_type, named) => {
        batches.push(named);
        await new Promise((r) => setTimeout(r, 5)); // two statements in flight: c and d wait and share the third
        return named.length === 2 ? [task('z'), task('d')] : named.map(task);
      },
    });
    const got = await Promise.all(['a', 'b', 'c', 'd'].map((id) => claimer.claim(msg(id), () => false)));
    assert.deepEqual(batches, [['a'], ['b'], ['c', 'd']]);
    assert.deepEqual(got.map((g) => (g && g !== 'stopped' ? g.task.id : null)), ['a', 'b', 'z', 'd']);
  });

  it('drops a message only when no due task is left for it', async () => {
    const { claimer, calls } = fake({ rows: [[]] });
    assert.equal(await claimer.claim(msg('a'), () => false), null);
    assert.deepEqual(calls, ['claim 1', 'due?']);
  });

  it('tries again while claimable rows exist (locked by another claim), then claims', async () => {
    let looks = 0;
    const { claimer, calls } = fake({
      rows: [[], [], [task('x')]],
      dueClaimable: () => (calls.push('due?'), looks++, Promise.resolve({ claimable: true, heldByLimit: false })),
    });
    const got = await claimer.claim(msg('a'), () => false);
    assert.equal(got && got !== 'stopped' ? got.task.id : null, 'x');
    assert.equal(looks, 2);
  });

  it('parks a row of a client at its limit; looks again when there was none left to park', async () => {
    let parks = 0;
    const { claimer, calls } = fake({
      rows: [[], [], [task('y')]],
      dueClaimable: () => (calls.push('due?'), Promise.resolve({ claimable: false, heldByLimit: true })),
      parkHeld: () => (calls.push('park'), Promise.resolve(parks++ === 0 ? 0 : 1)),
    });
    assert.equal(await claimer.claim(msg('a'), () => false), null, 'the second look parked a row: the message is spent');
    assert.deepEqual(calls, ['claim 1', 'due?', 'park', 'claim 1', 'due?', 'park']);
  });

  it('holds the message through transient errors and gives it back when the worker drains', async () => {
    let stopping = false;
    const { claimer } = fake({
      claimNext: () => {
        stopping = true;
        return Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
      },
    });
    assert.equal(await claimer.claim(msg('a'), () => stopping), 'stopped');
    const broken = fake({ claimNext: () => Promise.reject(new Error('syntax error')) });
    await assert.rejects(broken.claimer.claim(msg('a'), () => false), /syntax error/);
  });
});
