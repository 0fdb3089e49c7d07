/** Entry point of a handler thread: loads the handler module, runs it once with its context, posts the outcome. */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../core/log/logger';
import { PermanentError, serializeTaskError, type TaskContext, type TaskHandler } from '../../core/tasks/handler-contract';
import type { ThreadReply, ThreadStart } from './thread-runner';

const data = workerData as ThreadStart;
const ac = new AbortController();
parentPort?.on('message', (m: { abort?: string }) => {
  if (m.abort !== undefined) ac.abort(new Error(m.abort));
});
const ctx: TaskContext = {
  ...data.ctx,
  signal: ac.signal,
  // Same service, level and bindings as the worker's own task logger; lines go to the process's stdout.
  logger: createLogger('tasker-worker', data.log.level).child(data.log.bindings),
  onCommit() {
    throw new PermanentError('onCommit is not available to thread handlers (no database connection in the thread)');
  },
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mod = require(data.modulePath) as { run: TaskHandler };
mod.run(data.payload, ctx).then(
  (result) => parentPort?.postMessage({ ok: true, result } satisfies ThreadReply),
  (e: unknown) => parentPort?.postMessage({ ok: false, error: serializeTaskError(e) } satisfies ThreadReply),
);
