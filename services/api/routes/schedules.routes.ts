/** HTTP shape of cron schedules: create, list, read (with the next run times), delete, pause, resume. */
import Router from '@koa/router';
import type { Principal } from '../domain/authenticator';
import type { ScheduleService } from '../domain/schedule.service';
import { readJsonBody } from '../middleware/json-body';
import { presentSchedule } from './schedule-views';
import type { BodyLimits } from './tasks.routes';

export function schedulesRoutes(schedules: ScheduleService, limits: BodyLimits): Router {
  const router = new Router();
  /** Set by the auth middleware (anonymous admin when AUTH_MODE=none). */
  const who = (state: Record<string, unknown>) => state.principal as Principal;

  router.post('/schedules', async (ctx) => {
    const s = await schedules.create(await readJsonBody(ctx, limits), who(ctx.state));
    ctx.status = 201;
    ctx.set('Location', `/schedules/${s.id}`);
    ctx.body = presentSchedule(s);
  });

  router.get('/schedules', async (ctx) => {
    const page = await schedules.list(ctx.query, who(ctx.state));
    ctx.body = { schedules: page.schedules.map(presentSchedule), next_cursor: page.nextCursor };
  });

  router.get('/schedules/:id', async (ctx) => {
    ctx.body = presentSchedule(await schedules.get(ctx.params.id ?? '', who(ctx.state)));
  });

  router.delete('/schedules/:id', async (ctx) => {
    await schedules.delete(ctx.params.id ?? '', who(ctx.state));
    ctx.status = 204;
  });

  router.post('/schedules/:id/pause', async (ctx) => {
    ctx.body = presentSchedule(await schedules.pause(ctx.params.id ?? '', who(ctx.state)));
  });

  router.post('/schedules/:id/resume', async (ctx) => {
    ctx.body = presentSchedule(await schedules.resume(ctx.params.id ?? '', who(ctx.state)));
  });

  return router;
}
