/** Webhook deliveries: list (failed by default) and redeliver. */
import Router from '@koa/router';
import type { Principal } from '../domain/authenticator';
import type { WebhookDeliveriesService } from '../domain/webhook-deliveries.service';

export function webhooksRoutes(deliveries: WebhookDeliveriesService): Router {
  const router = new Router();
  const who = (state: Record<string, unknown>) => state.principal as Principal;

  router.get('/webhooks/deliveries', async (ctx) => {
    ctx.body = { deliveries: await deliveries.list(ctx.query, who(ctx.state)) };
  });

  router.post('/webhooks/deliveries/:id/redeliver', async (ctx) => {
    ctx.status = 202;
    ctx.body = await deliveries.redeliver(ctx.params.id ?? '', who(ctx.state));
  });

  return router;
}
