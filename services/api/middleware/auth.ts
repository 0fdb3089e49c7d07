/** Authenticates every task endpoint; probes and metrics stay open (they carry no task data). */
import type { Middleware } from 'koa';
import type { Authenticator } from '../domain/authenticator';

const OPEN = new Set(['/health', '/ready', '/metrics']);

export function authenticate(auth: Authenticator): Middleware {
  return async (ctx, next) => {
    if (OPEN.has(ctx.path)) {
      await next();
      return;
    }
    try {
      ctx.state.principal = await auth.authenticate(ctx.get('Authorization') || undefined);
    } catch (e) {
      ctx.set('WWW-Authenticate', 'Bearer realm="tasker"');
      throw e;
    }
    await next();
  };
}
