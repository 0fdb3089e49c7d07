/** Builds the Koa app from its dependencies without listening, so tests can use app.callback(). */
import Koa from 'koa';
import type { ReadinessCheck } from '../core/health/readiness';
import type { Logger } from '../core/log/logger';
import type { TaskService } from './domain/task.service';
import { errorHandler } from './middleware/error-handler';
import { healthRoutes } from '../core/http/health.routes';
import { tasksRoutes } from './routes/tasks.routes';

export interface AppDeps {
  tasks: TaskService;
  readiness: Record<string, ReadinessCheck>;
  isDraining: () => boolean;
  logger: Logger;
  maxBodyBytes: number;
}

export function buildApp(d: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorHandler, once
  app.use(errorHandler(d.logger));
  for (const router of [healthRoutes(d.readiness, d.isDraining), tasksRoutes(d.tasks, d.maxBodyBytes)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
