/**
 * What the web console reads besides the task endpoints: who the caller is, and the overview per
 * task type. Both are public API (documented in /openapi.json) and scoped like every task
 * endpoint: a client sees its own tasks, an admin everyone's.
 */
import Router from '@koa/router';
import type { Db } from '../../core/db/database';
import { readOverview } from '../data-access/overview.repository';
import type { Principal } from '../domain/authenticator';
import type { OverviewView, WhoAmI } from './task-views';

export function consoleDataRoutes(db: Db, types: readonly string[]): Router {
  const router = new Router();
  const who = (state: Record<string, unknown>) => state.principal as Principal;

  router.get('/whoami', (ctx) => {
    const p = who(ctx.state);
    const body: WhoAmI = { client_id: p.clientId, admin: p.admin };
    ctx.body = body;
  });

  router.get('/overview', async (ctx) => {
    const p = who(ctx.state);
    // Typed by the schema /openapi.json documents, so the two cannot drift apart.
    const body: OverviewView = await readOverview(db, types, { clientId: p.admin ? null : p.clientId });
    ctx.body = body;
  });

  return router;
}
