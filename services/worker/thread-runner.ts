/**
 * Runs a handler module in a worker thread. Terminating the thread is the only reliable way to stop
 * a handler that busy-loops or ignores its AbortSignal, and `resourceLimits` caps its heap, so one
 * bad task cannot stall or crash the worker process.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { toError } from '../core/errors/app-error';
import { PermanentError, type TaskHandler } from './handler';

const HOST = path.join(__dirname, 'thread-host.js');

/** What a thread handler module exports. */
export type ThreadHandlerModule = {
  run(payload: unknown, ctx: { taskId: string; type: string; attempt: number; maxAttempts: number }): Promise<unknown>;
};

interface ThreadReply {
  ok: boolean;
  result?: unknown;
  error?: { name: string; message: string };
}

export function threadHandler(modulePath: string, memoryLimitMb?: number): TaskHandler {
  return (payload, ctx) =>
    new Promise((resolve, reject) => {
      let settled = false;
      const worker = new Worker(HOST, {
        workerData: {
          modulePath,
          payload,
          ctx: { taskId: ctx.taskId, type: ctx.type, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts },
        },
        resourceLimits: memoryLimitMb ? { maxOldGenerationSizeMb: memoryLimitMb, maxYoungGenerationSizeMb: 16 } : undefined,
        stdout: false,
        stderr: false,
      });
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => {
        void worker.terminate();
        settle(() => reject(toError(ctx.signal.reason)));
      };
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: ThreadReply) => {
        void worker.terminate();
        settle(() => (m.ok ? resolve(m.result) : reject(rebuildError(m.error))));
      });
      worker.on('error', (err) => {
        const e = toError(err);
        const oom = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
        settle(() => reject(oom ? new Error(`handler exceeded its ${memoryLimitMb} MB heap limit`) : e));
      });
      worker.on('exit', (code) => settle(() => reject(new Error(`handler thread exited with code ${code}`))));
    });
}

function rebuildError(e: ThreadReply['error']): Error {
  if (e?.name === 'PermanentError') return new PermanentError(e.message);
  const err = new Error(e?.message ?? 'handler thread failed');
  err.name = e?.name ?? 'Error';
  return err;
}
