/** HTTP shape of tasks: POST /tasks, GET /tasks/:id. */
import Router from '@koa/router';
import type { Task } from '../../core/tasks/task';
import type { TaskService } from '../domain/task.service';
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
    attempts: t.attempts,
    max_attempts: t.maxAttempts,
    created_at: t.createdAt.toISOString(),
    updated_at: t.updatedAt.toISOString(),
    started_at: t.startedAt?.toISOString() ?? null,
    finished_at: t.finishedAt?.toISOString() ?? null,
  };
}

export function tasksRoutes(tasks: TaskService, maxBodyBytes: number): Router {
  const router = new Router();

  router.post('/tasks', async (ctx) => {
    const body = await readJsonBody(ctx, maxBodyBytes);
    const task = await tasks.submit(body);
    ctx.status = 202;
    ctx.set('Location', `/tasks/${task.id}`);
    ctx.body = { task_id: task.id, status: task.status };
  });

  router.get('/tasks/:id', async (ctx) => {
    ctx.body = presentTask(await tasks.get(ctx.params.id ?? ''));
  });

  return router;
}
