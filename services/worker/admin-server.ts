/** The worker's admin port: liveness and readiness (metrics join here with the observability work). */
import Koa from 'koa';
import type { ReadinessCheck } from '../core/health/readiness';
import { healthRoutes } from '../core/http/health.routes';

export function buildAdminApp(readiness: Record<string, ReadinessCheck>, isDraining: () => boolean): Koa {
  const app = new Koa();
  app.silent = true;
  const router = healthRoutes(readiness, isDraining);
  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } };
  });
  return app;
}
