/**
 * Runs one delivered task: claim (compare-and-set + lease), ack, heartbeat while the handler runs,
 * then a fenced completion or failure. Database errors around the claim keep the message unacked
 * and retry; the broker redelivers it if this process goes away.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDatabaseUnavailable, type Db } from '../core/db/database';
import { toError } from '../core/errors/app-error';
import type { Logger } from '../core/log/logger';
import type { FailureReason, Task, TaskError, TaskMessage } from '../core/tasks/task';
import type { TaskStore } from './data-access/task-store';
import { AbortReason, PermanentError, RetryLaterError, type RegisteredType } from './handler';
import { backoffDelay, type BackoffPolicy } from './retry-policy';

export interface RunnerOptions {
  store: TaskStore;
  registry: Map<string, RegisteredType>;
  logger: Logger;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  backoff: BackoffPolicy;
}

export type RunOutcome = 'done' | 'retried' | 'failed' | 'timeout' | 'cancelled' | 'skipped' | 'released' | 'lease_lost';

export interface DeliveryControl {
  ack(): void;
  /** Dead-letters the message (nack without requeue). */
  reject(): void;
  /** True once the worker is draining: stop retrying claims and leave the message to redelivery. */
  isStopping(): boolean;
}

export interface TaskRunner {
  run(msg: TaskMessage, delivery: DeliveryControl): Promise<RunOutcome>;
  /** Aborts every running handler (drain timeout) so their leases are released. */
  abortAll(): void;
  /** Aborts the handler of a task cancelled through the API, if it runs here. */
  cancel(taskId: string): void;
}

export function createTaskRunner(o: RunnerOptions): TaskRunner {
  const running = new Map<string, AbortController>();

  async function claimWithRetry(msg: TaskMessage, token: string, d: DeliveryControl): Promise<Task | null | 'stopped'> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await o.store.claim(msg.task_id, token, o.leaseMs, o.workerId);
      } catch (e) {
        if (!isDatabaseUnavailable(e)) throw e;
        if (d.isStopping()) return 'stopped';
        if (attempt === 1) o.logger.warn({ task_id: msg.task_id, err: e }, 'database unavailable; holding message and retrying claim');
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Writes an outcome, retrying while the database is down and the lease is still ours to use. */
  async function persist<T>(what: string, fn: () => Promise<T>, log: Logger): Promise<T | 'gave_up'> {
    const deadline = Date.now() + o.leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isDatabaseUnavailable(e) || Date.now() > deadline) {
          log.error({ err: e }, `could not record ${what}; the lease will expire and the task will be retried`);
          return 'gave_up';
        }
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }

  return {
    abortAll() {
      for (const ac of running.values()) ac.abort(new AbortReason('shutdown'));
    },

    cancel(taskId) {
      running.get(taskId)?.abort(new AbortReason('cancelled'));
    },

    async run(msg, d) {
      const token = randomUUID();
      const claimed = await claimWithRetry(msg, token, d);
      if (claimed === 'stopped') return 'skipped'; // unacked: redelivered after the channel closes
      if (claimed === null) {
        // Already claimed, finished, cancelled or not yet due: this message is a duplicate.
        d.ack();
        o.logger.debug({ task_id: msg.task_id }, 'task not claimable; duplicate message dropped');
        return 'skipped';
      }
      d.ack();
      const task = claimed;
      const log = o.logger.child({ task_id: task.id, task_type: task.type, attempt: task.attempts });
      const registered = o.registry.get(task.type);
      const ac = new AbortController();
      running.set(task.id, ac);

      const heartbeat = setInterval(() => {
        o.store.heartbeat(task.id, token, o.leaseMs).then(
          (ours) => {
            if (!ours) ac.abort(new AbortReason('lease_lost'));
          },
          (err: unknown) => log.warn({ err }, 'heartbeat failed; lease may expire'),
        );
      }, o.heartbeatMs);
      const timeout = setTimeout(() => ac.abort(new AbortReason('timeout')), task.timeoutMs);

      log.info('task started');
      try {
        if (!registered) throw new PermanentError(`no handler for task type ${task.type} in this worker`);
        const aborted = new Promise<never>((_, reject) => {
          const onAbort = () => reject(toError(ac.signal.reason));
          if (ac.signal.aborted) onAbort();
          else ac.signal.addEventListener('abort', onAbort, { once: true });
        });
        aborted.catch(() => undefined);
        // Race the abort so a handler that ignores its signal cannot hold the task past its timeout.
        const effects: ((trx: Db) => Promise<void>)[] = [];
        const result = await Promise.race([
          registered.handler(task.payload, {
            taskId: task.id,
            type: task.type,
            attempt: task.attempts,
            maxAttempts: task.maxAttempts,
            signal: ac.signal,
            logger: log,
            onCommit: (effect) => effects.push(effect),
          }),
          aborted,
        ]);
        if (ac.signal.aborted) throw toError(ac.signal.reason); // aborted while the handler was finishing
        const ok = await persist('completion', () => o.store.complete(task.id, token, result, effects), log);
        if (ok === true) {
          log.info({ duration_ms: Date.now() - task.updatedAt.getTime() }, 'task done');
          return 'done';
        }
        log.warn('completion discarded: the lease was taken over by another worker');
        return 'lease_lost';
      } catch (e: unknown) {
        return await handleFailure(task, token, ac, toError(e), log, registered?.definition.backoff ?? o.backoff);
      } finally {
        clearInterval(heartbeat);
        clearTimeout(timeout);
        running.delete(task.id);
      }
    },
  };

  async function handleFailure(
    task: Task,
    token: string,
    ac: AbortController,
    err: Error,
    log: Logger,
    backoff: BackoffPolicy,
  ): Promise<RunOutcome> {
    const abort = ac.signal.aborted ? (ac.signal.reason as unknown) : null;
    if (abort instanceof AbortReason && abort.kind === 'shutdown') {
      const released = await persist('release', () => o.store.release(task.id, token), log);
      log.warn({ released: released === true }, 'drain timeout: task interrupted and handed back for another worker');
      return 'released';
    }
    if (abort instanceof AbortReason && (abort.kind === 'lease_lost' || abort.kind === 'cancelled')) {
      const status = await o.store.statusOf(task.id).catch(() => null);
      if (status === 'cancelled') {
        log.info('task cancelled; handler aborted');
        return 'cancelled';
      }
      log.warn({ status }, 'lease lost (taken over by another worker); abandoning this attempt');
      return 'lease_lost';
    }
    let reason: FailureReason = 'error';
    let retryAt: Date | null = null;
    let refund = false;
    if (abort instanceof AbortReason && abort.kind === 'timeout') reason = 'timeout';
    if (err instanceof PermanentError) reason = 'permanent';
    if (err instanceof RetryLaterError) {
      retryAt = new Date(Date.now() + err.delayMs);
      refund = true;
    } else if (reason !== 'permanent' && task.attempts < task.maxAttempts) {
      retryAt = new Date(Date.now() + backoffDelay(task.attempts, backoff));
    }
    const error: TaskError = {
      reason,
      message: reason === 'timeout' ? `timed out after ${task.timeoutMs} ms` : err.message.slice(0, 2_000),
      attempt: task.attempts,
      at: new Date().toISOString(),
    };
    const outcome = await persist('failure', () => o.store.fail(task.id, token, error, retryAt, refund), log);
    if (outcome === 'retried') {
      log.warn({ reason, err: error.message, retry_at: retryAt?.toISOString() }, 'attempt failed; retry scheduled');
      return 'retried';
    }
    if (outcome === 'failed') {
      log.error({ reason, err: error.message }, 'task failed; no attempts left (dead letter)');
      return reason === 'timeout' ? 'timeout' : 'failed';
    }
    return 'lease_lost';
  }
}
