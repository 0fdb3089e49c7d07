/**
 * Test-only thread handler module (`test.thread`), loaded inside a worker thread by thread-host.
 * `busy` spins ignoring every signal; `hog` allocates until the heap limit; `sleep` sleeps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { testPayload } from '../../core/tasks/test-task-types';

export async function run(payload: unknown, ctx: { attempt: number }): Promise<unknown> {
  const p = testPayload.parse(payload);
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
      await sleep(p.durationMs);
      return { thread: true, attempt: ctx.attempt };
    default:
      throw new Error(`mode ${p.mode} is not supported by test.thread`);
  }
}
