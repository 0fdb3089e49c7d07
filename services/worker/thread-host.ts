/** Entry point of a handler thread: loads the handler module, runs it once, posts the outcome. */
import { parentPort, workerData } from 'node:worker_threads';
import type { ThreadHandlerModule } from './thread-runner';

const data = workerData as { modulePath: string; payload: unknown; ctx: Parameters<ThreadHandlerModule['run']>[1] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mod = require(data.modulePath) as ThreadHandlerModule;
mod.run(data.payload, data.ctx).then(
  (result) => parentPort?.postMessage({ ok: true, result }),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort?.postMessage({ ok: false, error: { name: err.name, message: err.message } });
  },
);
