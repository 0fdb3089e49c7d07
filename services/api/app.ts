/** Builds the Koa app from its dependencies without listening, so tests can use app.callback(). */
import Koa from 'koa';
import type { ReadinessCheck } from '../core/health/readiness';
import type { Logger } from '../core/log/logger';
import { metricsRoutes } from '../core/http/metrics.routes';
import type { MetricsRegistry } from '../core/metrics/registry';
import type { ApiMetrics } from './metrics';
import { requestContext } from './middleware/request-context';
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
  metrics: ApiMetrics;
  registry: MetricsRegistry;
}

export function buildApp(d: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged by errorHandler, once
  app.use(requestContext(d.metrics));
  app.use(errorHandler(d.logger));
  const routers = [healthRoutes(d.readiness, d.isDraining), metricsRoutes(d.registry), tasksRoutes(d.tasks, d.maxBodyBytes, d.metrics)];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
