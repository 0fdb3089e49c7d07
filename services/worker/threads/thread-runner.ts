/**
 * Runs a handler module in a worker thread, behind the same TaskHandler contract as an inline
 * handler: the thread's handler gets the same context (task id, attempt, an AbortSignal, a logger)
 * and its PermanentError / RetryLaterError reach the runner with their type and delay. Terminating
 * the thread is the only reliable way to stop a handler that busy-loops or ignores its signal, and
 * `resourceLimits` caps its heap, so one bad task cannot stall or crash the worker process.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { toError } from '../../core/errors/app-error';
import { deserializeTaskError, type SerializedTaskError, type TaskHandler } from '../../core/tasks/handler-contract';

const HOST = path.join(__dirname, 'thread-host.js');
/** After an abort, a cooperative handler gets this long to stop before its thread is terminated. */
const ABORT_GRACE_MS = 200;

/** What the host posts back: the outcome of the one run. */
export type ThreadReply = { ok: true; result: unknown } | { ok: false; error: SerializedTaskError };

/** What the host receives at start (workerData). */
export interface ThreadStart {
  modulePath: string;
  payload: unknown;
  ctx: { taskId: string; type: string; attempt: number; maxAttempts: number };
  log: { level: string; bindings: Record<string, unknown> };
}

export function threadHandler(modulePath: string, memoryLimitMb?: number): TaskHandler {
  return (payload, ctx) =>
    new Promise((resolve, reject) => {
      let settled = false;
      const start: ThreadStart = {
        modulePath,
        payload,
        ctx: { taskId: ctx.taskId, type: ctx.type, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts },
        log: { level: ctx.logger.level, bindings: ctx.logger.bindings() },
      };
      const worker = new Worker(HOST, {
        workerData: start,
        resourceLimits: memoryLimitMb ? { maxOldGenerationSizeMb: memoryLimitMb, maxYoungGenerationSizeMb: 16 } : undefined,
      });
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => {
        // Tell the handler (its own signal fires), then make sure the thread ends.
        worker.postMessage({ abort: String((ctx.signal.reason as Error | undefined)?.message ?? 'aborted') });
        setTimeout(() => void worker.terminate(), ABORT_GRACE_MS).unref();
        settle(() => reject(toError(ctx.signal.reason)));
      };
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: ThreadReply) => {
        void worker.terminate();
        settle(() => (m.ok ? resolve(m.result) : reject(deserializeTaskError(m.error))));
      });
      worker.on('error', (err) => {
        const e = toError(err);
        const oom = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
        settle(() => reject(oom ? new Error(`handler exceeded its ${memoryLimitMb} MB heap limit`) : e));
      });
      worker.on('exit', (code) => settle(() => reject(new Error(`handler thread exited with code ${code}`))));
    });
}
