/** The worker's admin port: liveness, readiness and Prometheus metrics. */
import Koa from 'koa';
import type { ReadinessCheck } from '../core/health/readiness';
import { healthRoutes } from '../core/http/health.routes';
import { metricsRoutes } from '../core/http/metrics.routes';
import type { MetricsRegistry } from '../core/metrics/registry';

export function buildAdminApp(
  readiness: Record<string, ReadinessCheck>,
  isDraining: () => boolean,
  metrics: MetricsRegistry,
  stalled: () => string | null,
): Koa {
  const app = new Koa();
  app.silent = true;
  for (const router of [healthRoutes(readiness, isDraining, stalled), metricsRoutes(metrics)]) app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } };
  });
  return app;
}
