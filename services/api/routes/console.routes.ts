/**
 * GET /ui: the web console (services/console). Static files only, served without credentials: the
 * console holds no data of its own and calls the public API with the credential the user enters,
 * like any other client. Its own Content-Security-Policy allows scripts, styles and requests from
 * this origin only (no inline code, no third parties).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ConsoleAsset } from '../console/console-assets';
import { NotFoundError } from '../../core/errors/app-error';

export const CONSOLE_PATH = '/ui';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Whether a request path is the console's (served without credentials). */
export const isConsolePath = (path: string): boolean => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);

export function consoleRoutes(assets: ReadonlyMap<string, ConsoleAsset>): Router {
  const router = new Router();
  // Relative asset URLs in index.html resolve under /ui/ only with the trailing slash (the
  // router matches /ui and /ui/ alike).
  router.get(CONSOLE_PATH, (ctx) => {
    if (ctx.path.endsWith('/')) return serve(ctx, 'index.html');
    ctx.status = 308;
    ctx.redirect(`${CONSOLE_PATH}/`);
  });
  router.get(`${CONSOLE_PATH}/:file`, (ctx) => serve(ctx, ctx.params.file ?? ''));
  return router;

  function serve(ctx: Context, name: string): void {
    const asset = assets.get(name);
    if (!asset) {
      throw new NotFoundError(assets.size === 0 ? 'the console was not built (npm run build)' : `console file ${JSON.stringify(name.slice(0, 100))} not found`);
    }
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    // Revalidated on every load (names are not content-hashed); the ETag makes that a 304.
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', asset.etag);
    if (ctx.get('If-None-Match') === asset.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.type;
    ctx.body = asset.body;
  }
}
