/** HTTP shape of tasks: submit, read, list (dead letters included), cancel, retry, bulk replay. */
import Router from '@koa/router';
import type { Task } from '../../core/tasks/task';
import type { Principal } from '../domain/authenticator';
import type { TaskService } from '../domain/task.service';
import type { ApiMetrics } from '../metrics';
import { readJsonBody } from '../middleware/json-body';

/** The public representation of a task (snake_case, as in the original service). */
export function presentTask(t: Task) {
  return {
    task_id: t.id,
    type: t.type,
    status: t.status,
    payload: t.payload,
    result: t.result ?? null,
    error: t.error ?? null,
    errors: t.errors,
    attempts: t.attempts,
    max_attempts: t.maxAttempts,
    timeout_ms: t.timeoutMs,
    run_after: t.runAfter.toISOString(),
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    started_at: t.startedAt?.toISOString() ?? null,
    finished_at: t.finishedAt?.toISOString() ?? null,
  };
}

export interface BodyLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
}

export function tasksRoutes(tasks: TaskService, limits: BodyLimits, metrics: ApiMetrics): Router {
  const router = new Router();
  /** Set by the auth middleware (anonymous admin when AUTH_MODE=none). */
  const who = (state: Record<string, unknown>) => state.principal as Principal;

  router.post('/tasks', async (ctx) => {
    const body = await readJsonBody(ctx, limits);
    const key = ctx.get('Idempotency-Key');
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
  });

  router.get('/tasks', async (ctx) => {
    const page = await tasks.list(ctx.query, who(ctx.state));
    ctx.body = { tasks: page.tasks.map(presentTask), next_cursor: page.nextCursor };
  });

  router.get('/tasks/:id', async (ctx) => {
    ctx.body = presentTask(await tasks.get(ctx.params.id ?? '', who(ctx.state)));
  });

  router.post('/tasks/:id/cancel', async (ctx) => {
    ctx.body = presentTask(await tasks.cancel(ctx.params.id ?? '', who(ctx.state)));
  });

  router.post('/tasks/:id/retry', async (ctx) => {
    const t = await tasks.retry(ctx.params.id ?? '', who(ctx.state));
    ctx.status = 202;
    ctx.set('Location', `/tasks/${t.id}`);
    ctx.body = presentTask(t);
  });

  router.post('/dead-letters/replay', async (ctx) => {
    const hasBody = Number(ctx.get('Content-Length') || '0') > 0 || ctx.get('Transfer-Encoding') !== '';
    const body = hasBody ? await readJsonBody(ctx, limits) : {};
    ctx.status = 202;
    ctx.body = await tasks.replayDeadLetters(body, who(ctx.state));
  });

  return router;
}
