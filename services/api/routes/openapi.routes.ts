/** GET /openapi.json: the API's contract (built once; it depends only on the configured limits). */
import Router from '@koa/router';

export function openApiRoutes(document: Record<string, unknown>): Router {
  const router = new Router();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = body;
  });
  return router;
}
