/**
 * Runs one attempt's handler: arms the timeout, passes the handler its context, and races the
 * abort so a handler that ignores its signal cannot hold the attempt past its timeout (a thread
 * handler's thread is terminated; an inline handler's promise is abandoned). `result` is the stored
 * JSON and the effects to commit with it, or rejects with what the failure classifier reads;
 * `settled` resolves when the handler itself has returned — later than `result` for an inline
 * handler that ignores its signal, which must keep its concurrency slot until then.
 */
import type { Db } from '../../core/db/database';
import { toError } from '../../core/errors/app-error';
import type { Logger } from '../../core/log/logger';
import { PermanentError, type TaskHandler } from '../../core/tasks/handler-contract';
import { storableJson } from '../../core/tasks/storable-json';
import type { Task } from '../../core/tasks/task';
import { AbortReason } from './abort-reason';

export interface AttemptSuccess {
  resultJson: string;
  effects: ((trx: Db) => Promise<void>)[];
}

export interface StartedAttempt {
  result: Promise<AttemptSuccess>;
  settled: Promise<void>;
  /** True once the handler has returned (or never started). */
  isSettled(): boolean;
}

export function startAttempt(
  handler: TaskHandler | undefined,
  task: Task,
  ac: AbortController,
  logger: Logger,
  around: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): StartedAttempt {
  let done = false;
  let resolveSettled!: () => void;
  const settled = new Promise<void>((r) => (resolveSettled = r));
  const settle = () => {
    done = true;
    resolveSettled();
  };
  const result = run(handler, task, ac, logger, around, (p) => void p.then(settle, settle));
  result.catch(() => undefined);
  if (!handler) settle(); // no handler (unknown type): nothing to wait for
  return { result, settled, isSettled: () => done };
}

async function run(
  handler: TaskHandler | undefined,
  task: Task,
  ac: AbortController,
  logger: Logger,
  around: <T>(fn: () => Promise<T>) => Promise<T>,
  onHandler: (p: Promise<unknown>) => void,
): Promise<AttemptSuccess> {
  const timeout = setTimeout(() => ac.abort(new AbortReason('timeout')), task.timeoutMs);
  try {
    if (!handler) throw new PermanentError(`no handler for task type ${task.type} in this worker`);
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(toError(ac.signal.reason));
      if (ac.signal.aborted) onAbort();
      else ac.signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    const effects: ((trx: Db) => Promise<void>)[] = [];
    const value = await around(() => {
      const running = handler(task.payload, {
        taskId: task.id,
        type: task.type,
        attempt: task.attempts,
        maxAttempts: task.maxAttempts,
        signal: ac.signal,
        logger,
        onCommit: (effect) => effects.push(effect),
      });
      onHandler(running);
      return Promise.race([running, aborted]);
    });
    if (ac.signal.aborted) throw toError(ac.signal.reason); // aborted while the handler was finishing
    try {
      // An unstorable result fails this task, not the completion batch it would join.
      return { resultJson: storableJson(value), effects };
    } catch (e) {
      throw new PermanentError(toError(e).message);
    }
  } finally {
    clearTimeout(timeout);
  }
}
