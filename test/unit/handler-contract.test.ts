/**
 * One handler contract, inline and in a thread: the same module run both ways gets the same context
 * and its typed errors reach the failure classifier with the same meaning (real worker threads).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { PermanentError, RetryLaterError, type TaskContext, type TaskHandler } from '../../services/core/tasks/handler-contract';
import type { Task } from '../../services/core/tasks/task';
import { AbortReason } from '../../services/worker/execution/abort-reason';
import { startAttempt } from '../../services/worker/execution/attempt-executor';
import { classifyFailure } from '../../services/worker/execution/failure-classifier';
import { threadHandler } from '../../services/worker/threads/thread-runner';
import { run as inlineRun } from '../plugin/test-thread.handler';

const MODULE = require.resolve('../plugin/test-thread.handler');
const ways: [string, TaskHandler][] = [
  ['inline', inlineRun],
  ['thread', threadHandler(MODULE, 64)],
];

function ctx(ac = new AbortController()): TaskContext {
  return {
    taskId: '8c0b2a1e-6f2d-4c59-9f0a-0d6f3c1b2a11',
    type: 'test.thread',
    attempt: 2,
    maxAttempts: 3,
    signal: ac.signal,
    logger: pino({ level: 'silent' }),
    onCommit: () => undefined,
  };
}

const failure = async (h: TaskHandler, mode: string, delayMs?: number) => {
  try {
    await h({ mode, delayMs }, ctx());
  } catch (e) {
    return e as Error;
  }
  return assert.fail('expected the handler to throw');
};

describe('handler contract', () => {
  for (const [way, h] of ways) {
    describe(way, () => {
      it('gets the task id, type, attempt, max attempts, a signal and a logger', async () => {
        assert.deepEqual(await h({ mode: 'context' }, ctx()), {
          taskId: '8c0b2a1e-6f2d-4c59-9f0a-0d6f3c1b2a11',
          type: 'test.thread',
          attempt: 2,
          maxAttempts: 3,
          signal: true,
          logger: true,
        });
      });

      it('a PermanentError stays permanent', async () => {
        const e = await failure(h, 'permanent');
        assert.ok(e instanceof PermanentError);
        assert.equal(classifyFailure({ error: e, abort: null, attempt: 1, maxAttempts: 3, timeoutMs: 1, backoff: { baseMs: 1, maxMs: 1 }, snoozes: 0, maxSnoozes: 1, maxSnoozeMs: 1 }).kind, 'dead_letter');
      });

      it('a RetryLaterError keeps its type and delay', async () => {
        const e = await failure(h, 'retry-later', 4321);
        assert.ok(e instanceof RetryLaterError);
        assert.equal(e.delayMs, 4321);
      });

      it('any other error stays a plain, retryable error', async () => {
        const e = await failure(h, 'fail');
        assert.ok(!(e instanceof PermanentError) && !(e instanceof RetryLaterError));
        assert.match(e.message, /test failure on attempt 2/);
      });

      it('a timeout ends the attempt with the timeout reason', async () => {
        const task = { id: ctx().taskId, type: 'test.thread', attempts: 1, maxAttempts: 3, timeoutMs: 100, payload: { mode: 'sleep', durationMs: 30_000 } };
        const p = startAttempt(h, task as Task, new AbortController(), pino({ level: 'silent' })).result;
        await assert.rejects(p, (e: Error) => e instanceof AbortReason && e.kind === 'timeout');
      });
    });
  }

  it('a thread that ignores its signal is terminated on abort', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = ways[1]![1]({ mode: 'busy' }, ctx(ac));
    setTimeout(() => ac.abort(new AbortReason('timeout')), 100);
    await assert.rejects(p, (e: Error) => e instanceof AbortReason);
    assert.ok(Date.now() - started < 5_000);
  });
});
