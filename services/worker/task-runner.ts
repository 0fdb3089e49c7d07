/**
 * Runs one delivered task: claim (compare-and-set + lease), ack, heartbeat while the handler runs,
 * then a fenced completion or failure. Database errors around the claim keep the message unacked
 * and retry; the broker redelivers it if this process goes away.
 *
 * Tracing: the claim runs under the message's context (a child of the publish span); the attempt's
 * CONSUMER span is a child of the context stored on the task row — so every attempt, however late,
 * joins the trace of the request that created the task — and links to the publish that woke it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientDatabaseError, type Db } from '../core/db/database';
import { toError } from '../core/errors/app-error';
import type { Logger } from '../core/log/logger';
import { traceExemplar } from '../core/metrics/registry';
import type { FailureReason, Task, TaskError, TaskMessage } from '../core/tasks/task';
import { ATTR, context, contextFrom, inSpan, messagingAttributes, SpanKind, SpanStatusCode, trace } from '../core/telemetry/tracing';
import type { TaskStore } from './data-access/task-store';
import { AbortReason, PermanentError, RetryLaterError, type RegisteredType } from './handler';
import type { WorkerMetrics } from './metrics';
import { backoffDelay, type BackoffPolicy } from './retry-policy';
import { createBatcher } from '../core/db/batcher';
import { storableJson } from '../core/tasks/storable-json';

export interface RunnerOptions {
  store: TaskStore;
  registry: Map<string, RegisteredType>;
  logger: Logger;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  backoff: BackoffPolicy;
  metrics?: WorkerMetrics;
}

export type RunOutcome = 'done' | 'retried' | 'failed' | 'timeout' | 'cancelled' | 'skipped' | 'released' | 'lease_lost';

export interface DeliveryControl {
  ack(): void;
  /** Dead-letters the message (nack without requeue). */
  reject(): void;
  /** True once the worker is draining: stop retrying claims and leave the message to redelivery. */
  isStopping(): boolean;
}

export interface DeliveryMeta {
  queue: string;
  headers?: Record<string, unknown>;
}

export interface TaskRunner {
  run(msg: TaskMessage, delivery: DeliveryControl, meta: DeliveryMeta): Promise<RunOutcome>;
  /** Aborts every running handler (drain timeout) so their leases are released. */
  abortAll(): void;
  /** Aborts the handler of a task cancelled through the API, if it runs here. */
  cancel(taskId: string): void;
  /** Stops the shared heartbeat (after the drain). */
  stop(): void;
}

interface AttemptResult {
  outcome: RunOutcome;
  reason?: FailureReason;
  /** The task reached a terminal state in this attempt. */
  terminal: boolean;
}

export function createTaskRunner(o: RunnerOptions): TaskRunner {
  const running = new Map<string, { ac: AbortController; token: string }>();
  const m = o.metrics;

  // Claims and completions of concurrently delivered tasks share statements (group commit): one
  // UPDATE claims every message that arrived while the previous claim ran.
  const claims = createBatcher<string, { task: Task; token: string } | null>({
    spanName: 'tasks claim batch',
    maxBatch: 500,
    maxConcurrent: 2,
    async run(ids) {
      const token = randomUUID(); // fences this batch's leases; unique per claim statement
      const rows = new Map((await o.store.claimMany([...new Set(ids)], token, o.leaseMs, o.workerId)).map((t) => [t.id, t]));
      // A duplicate message in the same batch must not claim the task twice.
      return ids.map((id) => {
        const task = rows.get(id);
        rows.delete(id);
        return task ? { task, token } : null;
      });
    },
  });
  const completions = createBatcher<{ id: string; token: string; resultJson: string }, boolean>({
    spanName: 'tasks complete batch',
    maxBatch: 500,
    maxConcurrent: 2,
    async run(items) {
      const ours = await o.store.completeMany(items);
      return items.map((i) => ours.has(i.id));
    },
  });

  // One heartbeat statement extends every lease this worker holds.
  let beating = false;
  const heartbeat = setInterval(() => {
    if (beating || running.size === 0) return;
    beating = true;
    const leases = [...running].map(([id, r]) => ({ id, token: r.token }));
    o.store
      .heartbeatMany(leases, o.leaseMs)
      .then(
        (ours) => {
          for (const l of leases) if (!ours.has(l.id)) running.get(l.id)?.ac.abort(new AbortReason('lease_lost'));
        },
        (err: unknown) => o.logger.warn({ err, leases: leases.length }, 'heartbeat failed; leases may expire'),
      )
      .finally(() => (beating = false));
  }, o.heartbeatMs);
  heartbeat.unref();

  async function claimWithRetry(msg: TaskMessage, d: DeliveryControl): Promise<{ task: Task; token: string } | null | 'stopped'> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await claims.submit(msg.task_id);
      } catch (e) {
        if (!isTransientDatabaseError(e)) throw e;
        if (d.isStopping()) return 'stopped';
        if (attempt === 1) o.logger.warn({ task_id: msg.task_id, err: e }, 'claim failed transiently; holding message and retrying');
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
        if (!isTransientDatabaseError(e) || Date.now() > deadline) {
          log.error({ err: e }, `could not record ${what}; the lease will expire and the task will be retried`);
          return 'gave_up';
        }
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }

  function record(task: Task, r: AttemptResult, runSeconds: number): void {
    if (!m) return;
    const type = task.type;
    const exemplar = traceExemplar();
    const counted: Partial<Record<RunOutcome, string>> = { done: 'done', retried: 'retried', failed: 'failed', timeout: 'timeout', cancelled: 'cancelled' };
    const label = r.reason === 'timeout' && r.outcome === 'retried' ? 'timeout' : counted[r.outcome];
    if (label) m.finished.inc({ type, outcome: label });
    if (r.terminal && (r.outcome === 'failed' || r.outcome === 'timeout')) m.finished.inc({ type, outcome: 'dead_lettered' });
    m.runSeconds.observe({ labels: { type }, value: runSeconds, exemplarLabels: exemplar });
    if (r.terminal) {
      m.endToEndSeconds.observe({ labels: { type }, value: (Date.now() - task.createdAt.getTime()) / 1000, exemplarLabels: exemplar });
    }
  }

  async function execute(task: Task, token: string): Promise<AttemptResult> {
    const log = o.logger.child({ task_id: task.id, task_type: task.type, attempt: task.attempts });
    const registered = o.registry.get(task.type);
    const ac = new AbortController();
    running.set(task.id, { ac, token });
    m?.inFlight.inc({ type: task.type });
    m?.queueWaitSeconds.observe({
      labels: { type: task.type },
      value: Math.max(0, task.updatedAt.getTime() - task.runAfter.getTime()) / 1000,
      exemplarLabels: traceExemplar(),
    });
    const startedAt = performance.now();

    const timeout = setTimeout(() => ac.abort(new AbortReason('timeout')), task.timeoutMs);

    log.info('task started');
    let result: AttemptResult;
    try {
      if (!registered) throw new PermanentError(`no handler for task type ${task.type} in this worker`);
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => reject(toError(ac.signal.reason));
        if (ac.signal.aborted) onAbort();
        else ac.signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      const effects: ((trx: Db) => Promise<void>)[] = [];
      // Race the abort so a handler that ignores its signal cannot hold the task past its timeout.
      const value = await inSpan(`task ${task.type}`, { attributes: { [ATTR.TASK_ID]: task.id, [ATTR.TASK_TYPE]: task.type } }, () =>
        Promise.race([
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
        ]),
      );
      if (ac.signal.aborted) throw toError(ac.signal.reason); // aborted while the handler was finishing
      let resultJson: string;
      try {
        resultJson = storableJson(value); // an unstorable result fails this task, not the batch it would join
      } catch (e) {
        throw new PermanentError(toError(e).message);
      }
      const ok = await persist(
        'completion',
        () =>
          effects.length > 0
            ? o.store.complete(task.id, token, resultJson, effects)
            : completions.submit({ id: task.id, token, resultJson }),
        log,
      );
      if (ok === true) {
        log.info({ duration_ms: Math.round(performance.now() - startedAt) }, 'task done');
        result = { outcome: 'done', terminal: true };
      } else {
        log.warn('completion discarded: the lease was taken over by another worker');
        result = { outcome: 'lease_lost', terminal: false };
      }
    } catch (e: unknown) {
      result = await handleFailure(task, token, ac, toError(e), log, registered?.definition.backoff ?? o.backoff);
    } finally {
      clearTimeout(timeout);
      running.delete(task.id);
      m?.inFlight.dec({ type: task.type });
    }
    record(task, result, (performance.now() - startedAt) / 1000);
    return result;
  }

  async function handleFailure(
    task: Task,
    token: string,
    ac: AbortController,
    err: Error,
    log: Logger,
    backoff: BackoffPolicy,
  ): Promise<AttemptResult> {
    const abort = ac.signal.aborted ? (ac.signal.reason as unknown) : null;
    if (abort instanceof AbortReason && abort.kind === 'shutdown') {
      const released = await persist('release', () => o.store.release(task.id, token), log);
      log.warn({ released: released === true }, 'drain timeout: task interrupted and handed back for another worker');
      return { outcome: 'released', terminal: false };
    }
    if (abort instanceof AbortReason && (abort.kind === 'lease_lost' || abort.kind === 'cancelled')) {
      const status = await o.store.statusOf(task.id).catch(() => null);
      if (status === 'cancelled') {
        log.info('task cancelled; handler aborted');
        return { outcome: 'cancelled', terminal: true };
      }
      log.warn({ status }, 'lease lost (taken over by another worker); abandoning this attempt');
      return { outcome: 'lease_lost', terminal: false };
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
      return { outcome: 'retried', reason, terminal: false };
    }
    if (outcome === 'failed') {
      log.error({ reason, err: error.message }, 'task failed; no attempts left (dead letter)');
      return { outcome: reason === 'timeout' ? 'timeout' : 'failed', reason, terminal: true };
    }
    if (outcome === 'lease_lost') {
      log.warn({ reason }, 'lease lost (taken over by another worker); this attempt\'s failure discarded');
    }
    return { outcome: 'lease_lost', terminal: false };
  }

  return {
    abortAll() {
      for (const r of running.values()) r.ac.abort(new AbortReason('shutdown'));
    },

    cancel(taskId) {
      running.get(taskId)?.ac.abort(new AbortReason('cancelled'));
    },

    stop() {
      clearInterval(heartbeat);
    },

    async run(msg, d, meta) {
      const messageContext = contextFrom(meta.headers);
      let claimed: Awaited<ReturnType<typeof claimWithRetry>>;
      try {
        claimed = await context.with(messageContext, () => claimWithRetry(msg, d));
      } catch (err) {
        // Not transient (a bug or a schema problem): dead-letter the message rather than hold its
        // prefetch slot forever; the row stays pending and the sweeper publishes it again later.
        o.logger.error({ task_id: msg.task_id, err }, 'claim failed; message dead-lettered');
        d.reject();
        return 'skipped';
      }
      if (claimed === 'stopped') return 'skipped'; // unacked: redelivered after the channel closes
      if (claimed === null) {
        // Already claimed, finished, cancelled or not yet due: this message is a duplicate.
        d.ack();
        o.logger.debug({ task_id: msg.task_id }, 'task not claimable; duplicate message dropped');
        return 'skipped';
      }
      d.ack();
      const { task, token } = claimed;
      const publishSpan = trace.getSpanContext(messageContext);
      return inSpan(
        `process ${meta.queue}`,
        {
          kind: SpanKind.CONSUMER,
          parent: task.traceContext ? contextFrom(task.traceContext) : messageContext,
          links: publishSpan && trace.isSpanContextValid(publishSpan) ? [{ context: publishSpan }] : [],
          attributes: {
            ...messagingAttributes({ type: 'process', name: 'process' }, meta.queue, task),
            [ATTR.TASK_ATTEMPT]: task.attempts,
          },
        },
        async (span) => {
          const r = await execute(task, token);
          span.setAttribute(ATTR.TASK_OUTCOME, r.outcome);
          if (r.outcome === 'failed' || r.outcome === 'timeout' || r.outcome === 'retried') {
            span.setStatus({ code: SpanStatusCode.ERROR, message: r.reason ?? r.outcome });
          }
          return r.outcome;
        },
      );
    },
  };
}
