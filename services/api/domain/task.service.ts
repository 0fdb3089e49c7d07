/** Submitting, reading, listing, cancelling and replaying tasks: the API's domain logic. */
import { createHash, randomUUID } from 'node:crypto';
import { AppError, ClientError, NotFoundError, TooManyRequestsError } from '../../core/errors/app-error';
import { isUuid, TERMINAL_STATUSES, type Task, type TaskStatus } from '../../core/tasks/task';
import { DEFAULT_TASK_TYPE, type TaskTypeDefinition } from '../../core/tasks/task-types';
import { containsNul } from '../../core/tasks/storable-json';
import { isDelayed } from '../../core/tasks/state/insert';
import { captureContext } from '../../core/telemetry/tracing';
import type { BatchItem, CreatedTask, IdempotencyClaim, NewTask, Scope, TaskRepository } from '../data-access/task.repository';
import type { Principal } from './authenticator';
import type { TaskDispatcher } from './task-dispatcher';
import { issuesOf, taskSchemas, type SchemaLimits } from './task-schemas';
import type { WaiterHub } from './waiter-hub';

export interface TaskServiceOptions extends SchemaLimits {
  types: readonly TaskTypeDefinition[];
  idempotencyTtlMs: number;
  replayRatePerSecond: number;
  /** 0 = unlimited. */
  maxPendingPerClient: number;
  /** Whether a signing secret is configured (WEBHOOK_SECRET); without it a `callback` is refused. */
  webhooksEnabled: boolean;
}

export type SubmitResult =
  | { replayed: false; task: CreatedTask; response: SubmitResponse }
  | { replayed: true; taskId: string; response: SubmitResponse };
export interface SubmitResponse {
  task_id: string;
  status: 'pending';
}

export interface BatchSubmitResult {
  /** In request order; `replayed`: answered from an earlier request with the same Idempotency-Key. */
  tasks: (SubmitResponse & { replayed: boolean })[];
  /** The tasks this request stored (not the replayed ones). */
  created: CreatedTask[];
}

/** A task after waiting for it; `timedOut`: the wait ended (time, drain) before the task was terminal. */
export interface WaitedTask {
  task: Task;
  timedOut: boolean;
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface TaskService {
  submit(body: unknown, principal: Principal, idempotencyKey?: string): Promise<SubmitResult>;
  /** Validates every item first (422 naming each bad one), then stores all of them or none. */
  submitBatch(body: unknown, principal: Principal): Promise<BatchSubmitResult>;
  get(id: string, principal: Principal): Promise<Task>;
  /** The `wait` query parameter in milliseconds (0 when absent). */
  waitMsOf(query: Record<string, unknown>): number;
  /** Answers as soon as the task is terminal, or with its state when `waitMs` ends or `signal` aborts. */
  awaitResult(id: string, principal: Principal, waitMs: number, signal: AbortSignal): Promise<WaitedTask>;
  list(query: Record<string, unknown>, principal: Principal): Promise<TaskPage>;
  cancel(id: string, principal: Principal): Promise<Task>;
  retry(id: string, principal: Principal): Promise<Task>;
  replayDeadLetters(body: unknown, principal: Principal): Promise<ReplayResult>;
  deleteExpiredIdempotencyKeys(): Promise<number>;
}

export interface ReplayResult {
  /** Tasks replayed (0 on a dry run). */
  replayed: number;
  /** Tasks the filter took (a dry run: would take), at most its limit. */
  matched: number;
  /** How long the sweeper takes to release them (REPLAY_RATE_PER_SECOND). */
  spread_ms: number;
  rate_per_second: number;
}

/** Token characters of an Idempotency-Key (the draft makes it an sf-string; we accept printable ASCII). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function createTaskService(repo: TaskRepository, dispatcher: TaskDispatcher, waiters: WaiterHub, o: TaskServiceOptions): TaskService {
  const byName = new Map(o.types.map((t) => [t.name, t]));
  const { submission, batchItem, batchEnvelope, wait, listQuery, replayBody } = taskSchemas(o);

  /** Another client's task is "not found", never "forbidden": existence is not leaked. */
  const scopeOf = (p: Principal): Scope => ({ clientId: p.admin ? null : p.clientId });

  async function find(id: string, principal: Principal): Promise<Task> {
    const task = isUuid(id) ? await repo.findById(id, scopeOf(principal)) : null;
    if (!task) throw new NotFoundError(`task ${JSON.stringify(id.slice(0, 100))} not found`);
    return task;
  }

  function typeOf(name: string): TaskTypeDefinition {
    const def = byName.get(name);
    if (!def) throw new ClientError('unknown_type', `unknown task type "${name}"`, 400, { known_types: [...byName.keys()] });
    return def;
  }

  /** Validates one submission into the row to insert and its key claim; throws the ClientError naming the problem. */
  function prepare(body: unknown, principal: Principal, idempotencyKey: string | undefined, schema: typeof submission) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ClientError('invalid_idempotency_key', 'Idempotency-Key must be 1–255 printable ASCII characters', 400);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ClientError('invalid_body', 'request body must be a JSON object', 422);
    }
    if (!('payload' in body)) {
      throw new ClientError('missing_payload', 'request body must contain "payload" (any JSON value)', 422);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ClientError('invalid_body', 'request body is invalid', 422, { issues: issuesOf(parsed.error) });
    }
    const def = typeOf(parsed.data.type ?? DEFAULT_TASK_TYPE);
    if (containsNul(parsed.data.payload)) {
      // PostgreSQL's jsonb cannot store U+0000; refuse it here rather than fail the insert.
      throw new ClientError('invalid_payload', 'payload strings and keys must not contain the NUL character (\\u0000)', 422);
    }
    const payload = def.payloadSchema.safeParse(parsed.data.payload);
    if (!payload.success) {
      throw new ClientError('invalid_payload', `payload is invalid for type "${def.name}"`, 422, {
        issues: issuesOf(payload.error),
      });
    }
    if (def.maxPayloadBytes !== undefined) {
      const size = Buffer.byteLength(JSON.stringify(parsed.data.payload));
      if (size > def.maxPayloadBytes) {
        throw new ClientError('payload_too_large', `payload is ${size} bytes; type "${def.name}" accepts at most ${def.maxPayloadBytes}`, 413);
      }
    }
    if (parsed.data.callback !== undefined && !o.webhooksEnabled) {
      throw new ClientError('webhooks_not_configured', 'this installation sends no webhooks (WEBHOOK_SECRET is not set); submit without "callback"', 422);
    }
    const { run_at: runAtText, delay_ms: delayMs, priority } = parsed.data;
    if (runAtText !== undefined && delayMs !== undefined) {
      throw new ClientError('invalid_body', 'give either "run_at" or "delay_ms", not both', 422, { issues: [{ path: 'run_at', message: 'not with delay_ms' }] });
    }
    const runAt = runAtText === undefined ? undefined : new Date(runAtText);
    if (runAt && runAt.getTime() - Date.now() > o.maxDelayMs) {
      throw new ClientError('invalid_body', `"run_at" is more than ${o.maxDelayMs} ms ahead (MAX_DELAY_MS)`, 422, { issues: [{ path: 'run_at', message: 'too far ahead' }] });
    }
    const id = randomUUID();
    const response: SubmitResponse = { task_id: id, status: 'pending' };
    const task: NewTask = {
      id,
      type: def.name,
      payload: parsed.data.payload,
      maxAttempts: def.maxAttempts,
      timeoutMs: parsed.data.timeout_ms ?? def.timeoutMs,
      traceContext: captureContext(),
      clientId: principal.clientId,
      ...(parsed.data.callback === undefined ? {} : { callbackUrl: parsed.data.callback }),
      ...(priority === undefined ? {} : { priority }),
      ...(runAt === undefined ? {} : { runAt }),
      ...(delayMs === undefined ? {} : { delayMs }),
    };
    const idem: IdempotencyClaim | undefined =
      idempotencyKey === undefined
        ? undefined
        : {
            scope: principal.clientId,
            key: idempotencyKey,
            requestHash: hashRequest(def.name, parsed.data),
            ttlMs: o.idempotencyTtlMs,
            response,
          };
    return { task, idem, response };
  }

  return {
    async submit(body, principal, idempotencyKey) {
      const { task: newTask, idem: claim, response } = prepare(body, principal, idempotencyKey, submission);
      // The cap is checked where the row is inserted, after the key lookup (so a replay is never refused).
      const result =
        o.maxPendingPerClient > 0 ? await repo.insertCapped(newTask, claim, o.maxPendingPerClient) : await repo.insert(newTask, claim);
      if (result.kind === 'over_cap') {
        throw new TooManyRequestsError('too_many_pending', `at most ${o.maxPendingPerClient} pending tasks per client`, 5);
      }
      if (result.kind === 'key_reused') {
        throw new ClientError(
          'idempotency_key_reused',
          'this Idempotency-Key was already used with a different request body',
          422,
        );
      }
      if (result.kind === 'replay') {
        return { replayed: true, taskId: result.taskId, response: result.response as SubmitResponse };
      }
      if (!isDelayed(newTask)) dispatcher.dispatch(result.task);
      return { replayed: false, task: result.task, response };
    },

    async submitBatch(body, principal) {
      const envelope = batchEnvelope.safeParse(body);
      if (!envelope.success) {
        throw new ClientError('invalid_body', 'request body is invalid', 422, { issues: issuesOf(envelope.error) });
      }
      const items: BatchItem[] = [];
      const invalid: { index: number; code: string; message: string; issues?: unknown }[] = [];
      const seenKeys = new Set<string>();
      envelope.data.tasks.forEach((raw, index) => {
        try {
          const key = typeof raw === 'object' && raw !== null && 'idempotency_key' in raw ? raw.idempotency_key : undefined;
          if (key !== undefined && typeof key !== 'string') throw new ClientError('invalid_idempotency_key', 'idempotency_key must be a string', 422);
          if (key !== undefined && seenKeys.has(key)) throw new ClientError('duplicate_idempotency_key', 'another item of this batch has the same idempotency_key', 422);
          if (key !== undefined) seenKeys.add(key);
          const { task, idem } = prepare(raw, principal, key, batchItem);
          items.push({ task, idem });
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
          invalid.push({ index, code: e.code, message: e.message, ...(e.details ? { issues: e.details.issues } : {}) });
        }
      });
      if (invalid.length > 0) {
        throw new ClientError('invalid_batch', `${invalid.length} of ${envelope.data.tasks.length} tasks are invalid; nothing was stored`, 422, {
          items: invalid,
        });
      }
      const r = await repo.insertBatch(items, o.maxPendingPerClient);
      const delayedById = new Map(items.map((i) => [i.task.id, i.task]));
      if (r.kind === 'over_cap') {
        throw new TooManyRequestsError('too_many_pending', `at most ${o.maxPendingPerClient} pending tasks per client; nothing was stored`, 5);
      }
      if (r.kind === 'key_reused') {
        throw new ClientError('idempotency_key_reused', 'Idempotency-Keys already used with a different request; nothing was stored', 422, {
          items: r.indexes.map((index) => ({ index, code: 'idempotency_key_reused', message: 'this idempotency_key was already used with a different request' })),
        });
      }
      const created: CreatedTask[] = [];
      const tasks = r.items.map((item) => {
        if (item.kind === 'replay') return { ...(item.response as SubmitResponse), replayed: true };
        created.push(item.task);
        if (!isDelayed(delayedById.get(item.task.id) ?? {})) dispatcher.dispatch(item.task);
        return { task_id: item.task.id, status: 'pending' as const, replayed: false };
      });
      return { tasks, created };
    },

    get: find,

    waitMsOf(query) {
      const q = wait.safeParse(query);
      if (!q.success) throw new ClientError('invalid_query', 'query parameters are invalid', 400, { issues: issuesOf(q.error) });
      return Math.round((q.data.wait ?? 0) * 1000);
    },

    async awaitResult(id, principal, waitMs, signal) {
      // Registered before the read: a task that ends between the read and the wait still wakes it.
      const ac = new AbortController();
      const abort = () => ac.abort();
      signal.addEventListener('abort', abort, { once: true });
      try {
        const ended = waitMs > 0 ? waiters.wait(id, waitMs, ac.signal) : null;
        const task = await find(id, principal);
        if (isTerminal(task) || !ended) return { task, timedOut: false };
        const end = await ended;
        const now = end === 'aborted' ? task : await find(id, principal);
        return { task: now, timedOut: !isTerminal(now) };
      } finally {
        ac.abort();
        signal.removeEventListener('abort', abort);
      }
    },

    async list(query, principal) {
      const q = listQuery.safeParse(query);
      if (!q.success) throw new ClientError('invalid_query', 'query parameters are invalid', 400, { issues: issuesOf(q.error) });
      const after = q.data.cursor === undefined ? undefined : decodeCursor(q.data.cursor);
      const rows = await repo.list({
        status: q.data.status,
        type: q.data.type,
        createdAfter: q.data.created_after,
        createdBefore: q.data.created_before,
        errorText: q.data.q,
        after,
        limit: q.data.limit + 1,
        scope: scopeOf(principal),
      });
      const page = rows.slice(0, q.data.limit);
      const last = page.at(-1);
      return {
        tasks: page.map((r) => r.task),
        nextCursor: rows.length > q.data.limit && last ? encodeCursor(last.position) : null,
      };
    },

    async cancel(id, principal) {
      const task = await find(id, principal);
      if (task.status === 'cancelled') return task;
      const r = await repo.cancel(task.id, scopeOf(principal));
      if (r) return r.task;
      const now = await find(id, principal);
      throw new AppError('not_cancellable', `task is ${now.status}; only pending or processing tasks can be cancelled`, 409);
    },

    async retry(id, principal) {
      const task = await find(id, principal);
      const retried = await repo.retry(task.id, byName.get(task.type)?.maxAttempts ?? task.maxAttempts, scopeOf(principal));
      if (!retried) {
        throw new AppError('not_retryable', `task is ${task.status}; only failed or cancelled tasks can be retried`, 409);
      }
      // Published here, like a new task: a sweeper leaves a row the API publishes itself (never
      // started since) alone for SWEEP_UNCONFIRMED_AFTER_MS, so it cannot race this publish into a
      // second message, and takes over if the publish fails.
      dispatcher.dispatch(retried);
      return retried;
    },

    async replayDeadLetters(body, principal) {
      const b = replayBody.safeParse(body ?? {});
      if (!b.success) throw new ClientError('invalid_body', 'request body is invalid', 422, { issues: issuesOf(b.error) });
      if (b.data.type) typeOf(b.data.type);
      const spacingMs = 1000 / o.replayRatePerSecond;
      const filter = { type: b.data.type, reason: b.data.reason, limit: b.data.limit, scope: scopeOf(principal) };
      const spread = (n: number) => Math.round(Math.max(0, n - 1) * spacingMs);
      if (b.data.dry_run) {
        const matched = await repo.countReplayable(filter);
        return { replayed: 0, matched, spread_ms: spread(matched), rate_per_second: o.replayRatePerSecond };
      }
      const replayed = await repo.replayFailed({ ...filter, spacingMs, extraAttempts: (type) => byName.get(type)?.maxAttempts ?? 1 });
      return { replayed, matched: replayed, spread_ms: spread(replayed), rate_per_second: o.replayRatePerSecond };
    },

    deleteExpiredIdempotencyKeys: () => repo.deleteExpiredIdempotencyKeys(1_000),
  };
}

const isTerminal = (t: Task) => TERMINAL_STATUSES.includes(t.status);

/** Same key + same request ⇔ same hash; key order in the payload does not matter. */
function hashRequest(
  type: string,
  data: { payload: unknown; timeout_ms?: number; callback?: string; priority?: number; run_at?: string; delay_ms?: number },
): string {
  // Optional fields only when given: hashes of requests without them stay what they were before they existed.
  const { payload, timeout_ms, callback, priority, run_at, delay_ms } = data;
  const given = Object.fromEntries(Object.entries({ callback, priority, run_at, delay_ms }).filter(([, v]) => v !== undefined));
  const request = { type, payload, timeout_ms: timeout_ms ?? null, ...given };
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function encodeCursor(p: { createdAt: string; id: string }): string {
  return Buffer.from(`${p.createdAt}|${p.id}`).toString('base64url');
}

/** Opaque to clients; PostgreSQL's own timestamp text keeps microsecond precision. */
export function decodeCursor(c: string): { createdAt: string; id: string } {
  const [createdAt, id] = Buffer.from(c, 'base64url').toString('utf8').split('|');
  if (!id || !isUuid(id) || !createdAt || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/.test(createdAt)) {
    throw new ClientError('invalid_cursor', 'cursor is not one this API returned', 400);
  }
  return { createdAt, id };
}


export type { TaskStatus };
