/**
 * Runs one delivered task through its attempt: claim (batched compare-and-set + lease), ack, run
 * the handler while the lease keeper extends the lease, then write the outcome the failure
 * classifier decides. The parts live beside this file; observers (metrics, tracing) are told what
 * happened and take no part in the decisions.
 */
import { toError } from '../../core/errors/app-error';
import type { Logger } from '../../core/log/logger';
import type { TaskHandler } from '../../core/tasks/handler-contract';
import type { TaskTypeDefinition } from '../../core/tasks/task-types';
import type { Task, TaskMessage } from '../../core/tasks/task';
import { abortKindOf } from './abort-reason';
import { startAttempt } from './attempt-executor';
import type { BackoffPolicy } from './backoff';
import type { Claimer } from './claimer';
import { classifyFailure } from './failure-classifier';
import type { LeaseKeeper } from './lease-keeper';
import type { OutcomeWriter } from './outcome-writer';
import type { AttemptEnd, DeliveryMeta, RunnerObserver, RunOutcome } from './runner-events';

export interface RegisteredType {
  definition: TaskTypeDefinition;
  handler: TaskHandler;
}

export interface DeliveryControl {
  ack(): void;
  /** Dead-letters the message (nack without requeue). */
  reject(): void;
  /** True once the worker is draining: stop retrying claims and leave the message to redelivery. */
  isStopping(): boolean;
}

export interface TaskRunner {
  run(msg: TaskMessage, delivery: DeliveryControl, meta: DeliveryMeta): Promise<RunOutcome>;
  /** Aborts every running attempt (drain timeout) so their leases are released. */
  abortAll(): void;
  /** Aborts the attempt of a task cancelled through the API, if it runs here. */
  cancel(taskId: string): void;
}

export interface RunnerParts {
  claimer: Claimer;
  leases: LeaseKeeper;
  outcomes: OutcomeWriter;
  registry: Map<string, RegisteredType>;
  backoff: BackoffPolicy;
  /** Bounds on RetryLaterError: reschedules without spending an attempt, and the longest delay. */
  snooze: { max: number; maxDelayMs: number };
  logger: Logger;
  observer?: RunnerObserver;
}

type Decided = Omit<AttemptEnd, 'seconds'>;

export function createTaskRunner(p: RunnerParts): TaskRunner {
  const obs = p.observer ?? {};
  /** Resolves when the worker gives up on its running attempts (drain timeout). */
  let shutdown!: () => void;
  const shuttingDown = new Promise<void>((r) => (shutdown = r));

  async function attempt(task: Task, token: string): Promise<AttemptEnd> {
    const log = p.logger.child({ task_id: task.id, task_type: task.type, attempt: task.attempts });
    const registered = p.registry.get(task.type);
    const lease = { id: task.id, token };
    const ac = new AbortController();
    const untrack = p.leases.track(lease, ac);
    obs.attemptStarted?.(task);
    const startedAt = performance.now();
    log.info('task started');
    let decided: Decided;
    const started = startAttempt(registered?.handler, task, ac, log, obs.aroundHandler && ((fn) => obs.aroundHandler!(task, fn)));
    try {
      const ok = await started.result;
      const written = await p.outcomes.complete({ ...lease, resultJson: ok.resultJson }, ok.effects, log);
      if (written === true) {
        log.info({ duration_ms: Math.round(performance.now() - startedAt) }, 'task done');
        decided = { outcome: 'done', terminal: true };
      } else {
        if (written === false) log.warn('completion discarded: the lease was taken over by another worker');
        decided = { outcome: 'lease_lost', terminal: false };
      }
    } catch (e: unknown) {
      decided = await onFailure(task, lease, toError(e), abortKindOf(ac.signal), registered?.definition.backoff ?? p.backoff, log);
    } finally {
      untrack();
    }
    const end = { ...decided, seconds: (performance.now() - startedAt) / 1000 };
    obs.attemptEnded?.(task, end);
    if (!started.isSettled()) await untilHandlerReturns(started.settled, log);
    return end;
  }

  /**
   * An inline handler that ignored its abort still runs: its slot stays taken until it returns, so
   * running handlers never exceed the worker's concurrency. Only a drain stops the wait.
   */
  async function untilHandlerReturns(settled: Promise<void>, log: Logger): Promise<void> {
    log.warn('the handler ignored its abort and still runs; its slot stays taken until it returns');
    await Promise.race([settled, shuttingDown]);
  }

  async function onFailure(
    task: Task,
    lease: { id: string; token: string },
    error: Error,
    abort: ReturnType<typeof abortKindOf>,
    backoff: BackoffPolicy,
    log: Logger,
  ): Promise<Decided> {
    const d = classifyFailure({
      error,
      abort,
      attempt: task.attempts,
      maxAttempts: task.maxAttempts,
      timeoutMs: task.timeoutMs,
      backoff,
      snoozes: task.snoozes,
      maxSnoozes: p.snooze.max,
      maxSnoozeMs: p.snooze.maxDelayMs,
    });
    switch (d.kind) {
      case 'release': {
        const released = await p.outcomes.release(lease, log);
        log.warn({ released: released === true }, 'drain timeout: task interrupted and handed back for another worker');
        return { outcome: 'released', terminal: false };
      }
      case 'abandon': {
        const status = await p.outcomes.statusOf(task.id);
        if (status === 'cancelled') {
          log.info('task cancelled; handler aborted');
          return { outcome: 'cancelled', terminal: true };
        }
        log.warn({ status }, 'lease lost (taken over by another worker); abandoning this attempt');
        return { outcome: 'lease_lost', terminal: false };
      }
      case 'retry':
      case 'dead_letter': {
        const retryInMs = d.kind === 'retry' ? d.delayMs : null;
        const error = { reason: d.reason, message: d.message, attempt: task.attempts, at: new Date().toISOString() };
        const refundAttempt = d.kind === 'retry' && d.refundAttempt;
        const written = await p.outcomes.fail({ ...lease, error, retryInMs, refundAttempt }, log);
        if (written === 'retried') {
          log.warn({ reason: d.reason, err: d.message, retry_in_ms: retryInMs, snooze: refundAttempt }, 'attempt failed; retry scheduled');
          return { outcome: 'retried', reason: d.reason, terminal: false };
        }
        if (written === 'failed') {
          log.error({ reason: d.reason, err: d.message }, 'task failed; no attempts left (dead letter)');
          return { outcome: d.reason === 'timeout' ? 'timeout' : 'failed', reason: d.reason, terminal: true };
        }
        if (written === 'lease_lost') log.warn({ reason: d.reason }, "lease lost (taken over by another worker); this attempt's failure discarded");
        return { outcome: 'lease_lost', terminal: false };
      }
    }
  }

  return {
    abortAll: () => {
      p.leases.abortAll('shutdown');
      shutdown();
    },
    cancel: (taskId) => p.leases.abortTask(taskId, 'cancelled'),

    async run(msg, d, meta) {
      let claimed: Awaited<ReturnType<Claimer['claim']>>;
      try {
        const claim = () => p.claimer.claim(msg, () => d.isStopping());
        claimed = await (obs.aroundClaim ? obs.aroundClaim(meta, claim) : claim());
      } catch (err) {
        // Not transient (a bug or a schema problem): dead-letter the message rather than hold its
        // prefetch slot forever; the row stays pending and the sweeper publishes it again later.
        p.logger.error({ task_id: msg.task_id, err }, 'claim failed; message dead-lettered');
        d.reject();
        return 'skipped';
      }
      if (claimed === 'stopped') return 'skipped'; // unacked: redelivered after the channel closes
      d.ack();
      if (claimed === null) {
        // No due task of this type left for it (a duplicate, or its task was cancelled or run by another message).
        p.logger.debug({ task_id: msg.task_id, task_type: msg.type }, 'no due task left for this wake-up message; dropped');
        return 'skipped';
      }
      const { task, token } = claimed;
      const run = () => attempt(task, token);
      // The message names the publish that woke this attempt only when it named this task.
      const woke = task.id === msg.task_id ? meta : { queue: meta.queue };
      const end = await (obs.aroundAttempt ? obs.aroundAttempt(task, woke, run) : run());
      return end.outcome;
    },
  };
}
