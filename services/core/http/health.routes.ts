/**
 * Liveness (no dependencies: only whether this process is stuck in a way a restart fixes) and
 * readiness (database, broker, schema).
 */
import Router from '@koa/router';
import { runReadiness, type ReadinessCheck } from '../health/readiness';

export function healthRoutes(checks: Record<string, ReadinessCheck>, isDraining: () => boolean, stalled: () => string | null = () => null): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    const reason = stalled();
    ctx.status = reason ? 503 : 200;
    ctx.body = reason ? { status: 'stalled', reason } : { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    const report = await runReadiness(checks);
    const draining = isDraining();
    const ready = report.ready && !draining;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', ...(draining ? { draining: true } : {}), checks: report.checks };
  });
  return router;
}
