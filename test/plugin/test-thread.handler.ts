/**
 * Test-only handler module (`test.thread`), run inside a worker thread by thread-host — and, in the
 * handler-contract test, inline too, to show both paths give a handler the same context and errors.
 * `busy` spins ignoring every signal; `hog` allocates until the heap limit; `sleep`/`record` sleep
 * honouring the signal; `permanent` / `retry-later` / `fail` throw the typed errors; `context`
 * returns what the handler was given.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, RetryLaterError, type TaskHandler } from '../../services/core/tasks/handler-contract';
import { testPayload } from './test-task-types';

export const run: TaskHandler = async (payload, ctx) => {
  const p = testPayload.parse(payload);
  ctx.logger.info({ mode: p.mode }, 'thread handler running');
  switch (p.mode) {
    case 'busy': {
      const until = p.durationMs > 0 ? Date.now() + p.durationMs : Infinity;
      while (Date.now() < until) {
        // spin: only terminating the thread stops this
      }
      return { spun: true };
    }
    case 'hog': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1_000_000).fill(ctx.attempt));
    }
    case 'sleep':
    case 'record':
      await sleep(p.durationMs, undefined, { signal: ctx.signal });
      return { thread: true, attempt: ctx.attempt };
    case 'permanent':
      throw new PermanentError('permanent test failure');
    case 'retry-later':
      throw new RetryLaterError('rate limited (test)', p.delayMs);
    case 'fail':
      throw new Error(`test failure on attempt ${ctx.attempt}`);
    default:
      return {
        taskId: ctx.taskId,
        type: ctx.type,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        signal: ctx.signal instanceof AbortSignal,
        logger: typeof ctx.logger.info === 'function',
      };
  }
};
