/** GET /metrics: Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it. */
import Router from '@koa/router';
import type { MetricsRegistry } from '../metrics/registry';

export function metricsRoutes(metrics: MetricsRegistry): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await metrics.render(ctx.get('Accept'));
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}
