/**
 * HTTP shape of tasks: submit (one, or a batch), read (optionally waiting for the result), list
 * (dead letters included), cancel, retry, bulk replay.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Principal } from '../domain/authenticator';
import type { TaskService } from '../domain/task.service';
import type { ApiMetrics } from '../metrics';
import { readJsonBody } from '../middleware/json-body';
import { presentTask } from './task-views';

export interface BodyLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
  /** POST /tasks/batch's own body limit. */
  batchMaxBodyBytes: number;
}

/** Aborts when the client goes away before its answer (a waiting request stops waiting). */
function clientGone(ctx: Context): AbortSignal {
  const ac = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** Header of every answer to a request with `?wait=`: whether the wait ended before the task was terminal. */
export const WAIT_TIMED_OUT_HEADER = 'Wait-Timed-Out';

export function tasksRoutes(tasks: TaskService, limits: BodyLimits, metrics: ApiMetrics, traceUrlTemplate = ''): Router {
  const router = new Router();
  const present = (t: Parameters<typeof presentTask>[0]) => presentTask(t, traceUrlTemplate);
  /** Set by the auth middleware (anonymous admin when AUTH_MODE=none). */
  const who = (state: Record<string, unknown>) => state.principal as Principal;

  router.post('/tasks', async (ctx) => {
    const body = await readJsonBody(ctx, limits);
    const key = ctx.get('Idempotency-Key');
    const waitMs = tasks.waitMsOf(ctx.query);
    const r = await tasks.submit(body, who(ctx.state), ctx.headers['idempotency-key'] === undefined ? undefined : key);
    ctx.status = 202;
    ctx.set('Location', `/tasks/${r.response.task_id}`);
    if (r.replayed) {
      ctx.set('Idempotent-Replayed', 'true');
      metrics.replays.inc();
    } else {
      metrics.submitted.inc({ type: r.task.type });
    }
    ctx.body = r.response;
    if (waitMs === 0) return;
    // Accepted either way: a wait that ends first answers 202 as without `wait`.
    const w = await tasks.awaitResult(r.response.task_id, who(ctx.state), waitMs, clientGone(ctx));
    ctx.set(WAIT_TIMED_OUT_HEADER, String(w.timedOut));
    if (!w.timedOut) {
      ctx.status = 200;
      ctx.body = present(w.task);
    }
  });

  router.post('/tasks/batch', async (ctx) => {
    const body = await readJsonBody(ctx, { maxBodyBytes: limits.batchMaxBodyBytes, maxJsonDepth: limits.maxJsonDepth });
    const r = await tasks.submitBatch(body, who(ctx.state));
    metrics.batchSize.observe(r.tasks.length);
    for (const t of r.created) metrics.submitted.inc({ type: t.type });
    const replayed = r.tasks.length - r.created.length;
    if (replayed > 0) metrics.replays.inc(replayed);
    ctx.status = 202;
    ctx.body = { tasks: r.tasks };
  });

  router.get('/tasks', async (ctx) => {
    const page = await tasks.list(ctx.query, who(ctx.state));
    ctx.body = { tasks: page.tasks.map((t) => present(t)), next_cursor: page.nextCursor };
  });

  router.get('/tasks/:id', async (ctx) => {
    const waitMs = tasks.waitMsOf(ctx.query);
    if (waitMs === 0) {
      ctx.body = present(await tasks.get(ctx.params.id ?? '', who(ctx.state)));
      return;
    }
    const w = await tasks.awaitResult(ctx.params.id ?? '', who(ctx.state), waitMs, clientGone(ctx));
    ctx.set(WAIT_TIMED_OUT_HEADER, String(w.timedOut));
    ctx.body = present(w.task);
  });

  router.post('/tasks/:id/cancel', async (ctx) => {
    ctx.body = present(await tasks.cancel(ctx.params.id ?? '', who(ctx.state)));
  });

  router.post('/tasks/:id/retry', async (ctx) => {
    const t = await tasks.retry(ctx.params.id ?? '', who(ctx.state));
    ctx.status = 202;
    ctx.set('Location', `/tasks/${t.id}`);
    ctx.body = present(t);
  });

  router.post('/dead-letters/replay', async (ctx) => {
    const hasBody = Number(ctx.get('Content-Length') || '0') > 0 || ctx.get('Transfer-Encoding') !== '';
    const body = hasBody ? await readJsonBody(ctx, limits) : {};
    ctx.status = 202;
    ctx.body = await tasks.replayDeadLetters(body, who(ctx.state));
  });

  return router;
}
