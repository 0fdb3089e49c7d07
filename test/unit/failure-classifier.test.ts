/** The failure classifier's table: every combination of error type, abort reason and attempts left. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermanentError, RetryLaterError } from '../../services/core/tasks/handler-contract';
import type { AbortKind } from '../../services/worker/execution/abort-reason';
import { classifyFailure, type FailureDecision } from '../../services/worker/execution/failure-classifier';

const backoff = { baseMs: 1000, maxMs: 8000 };
/** random() = 0.5: the backoff delay is half its ceiling, so expected delays are exact. */
const facts = (error: Error, abort: AbortKind | null, attempt: number, maxAttempts = 3) => ({
  error,
  abort,
  attempt,
  maxAttempts,
  timeoutMs: 5000,
  backoff,
  snoozes: 0,
  maxSnoozes: 3,
  maxSnoozeMs: 60_000,
  random: () => 0.5,
});

const plain = new Error('boom');
const permanent = new PermanentError('bad input');
const later = new RetryLaterError('rate limited', 1234);

const rows: [string, ReturnType<typeof facts>, FailureDecision][] = [
  ['a drain interrupts it: released', facts(plain, 'shutdown', 1), { kind: 'release' }],
  ['a drain wins over a permanent error', facts(permanent, 'shutdown', 3), { kind: 'release' }],
  ['cancelled: abandoned as cancelled', facts(plain, 'cancelled', 1), { kind: 'abandon', why: 'cancelled' }],
  ['lease lost: abandoned as lease lost', facts(plain, 'lease_lost', 3), { kind: 'abandon', why: 'lease_lost' }],
  ['error, attempts left: retry with backoff', facts(plain, null, 1), { kind: 'retry', reason: 'error', message: 'boom', delayMs: 500, refundAttempt: false }],
  ['error on attempt 2: the backoff doubles', facts(plain, null, 2), { kind: 'retry', reason: 'error', message: 'boom', delayMs: 1000, refundAttempt: false }],
  ['error on the last attempt: dead letter', facts(plain, null, 3), { kind: 'dead_letter', reason: 'error', message: 'boom' }],
  ['timeout, attempts left: retry as timeout', facts(plain, 'timeout', 1), { kind: 'retry', reason: 'timeout', message: 'timed out after 5000 ms', delayMs: 500, refundAttempt: false }],
  ['timeout on the last attempt: dead letter as timeout', facts(plain, 'timeout', 3), { kind: 'dead_letter', reason: 'timeout', message: 'timed out after 5000 ms' }],
  ['permanent on the first attempt: dead letter', facts(permanent, null, 1), { kind: 'dead_letter', reason: 'permanent', message: 'bad input' }],
  ['retry-later: rescheduled by its delay, attempt refunded', facts(later, null, 1), { kind: 'retry', reason: 'error', message: 'rate limited', delayMs: 1234, refundAttempt: true }],
  ['retry-later on the last attempt: still rescheduled', facts(later, null, 3), { kind: 'retry', reason: 'error', message: 'rate limited', delayMs: 1234, refundAttempt: true }],
  ['retry-later with its snoozes used up: an ordinary retry', { ...facts(later, null, 1), snoozes: 3 }, { kind: 'retry', reason: 'error', message: 'rate limited', delayMs: 500, refundAttempt: false }],
  ['retry-later with its snoozes used up on the last attempt: dead letter', { ...facts(later, null, 3), snoozes: 3 }, { kind: 'dead_letter', reason: 'error', message: 'rate limited' }],
  ['retry-later asking for too long: the delay is capped', facts(new RetryLaterError('later', 10 * 3_600_000), null, 1), { kind: 'retry', reason: 'error', message: 'later', delayMs: 60_000, refundAttempt: true }],
  ['retry-later after a timeout: the timeout decides', facts(later, 'timeout', 3), { kind: 'dead_letter', reason: 'timeout', message: 'timed out after 5000 ms' }],
];

describe('failure classifier', () => {
  for (const [name, f, expected] of rows) it(name, () => assert.deepEqual(classifyFailure(f), expected));

  it('caps the backoff at its maximum', () => {
    const d = classifyFailure({ ...facts(plain, null, 10, 20), random: () => 0.999999 });
    assert.equal(d.kind, 'retry');
    assert.ok(d.kind === 'retry' && d.delayMs < backoff.maxMs && d.delayMs >= backoff.maxMs - 1);
  });

  it('bounds the stored message', () => {
    const d = classifyFailure(facts(new Error('x'.repeat(5000)), null, 3));
    assert.ok(d.kind === 'dead_letter' && d.message.length === 2000);
  });
});
