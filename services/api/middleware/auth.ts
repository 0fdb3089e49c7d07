/**
 * Authenticates every task endpoint; probes, metrics and the console's static files stay open
 * (they carry no task data).
 * With an address limiter, a request whose credentials need a lookup or a verification first
 * takes a token from its source address (429 with Retry-After when the address has spent its
 * burst, before the credentials are looked at) and gives it back once it authenticates.
 */
import type { Middleware } from 'koa';
import { TooManyRequestsError } from '../../core/errors/app-error';
import type { AddressLimiter } from '../domain/address-limiter';
import type { Authenticator } from '../domain/authenticator';
import { isConsolePath } from '../routes/console.routes';

/** Paths that need no credentials (and are never limited). */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics', '/openapi.json']);

export function authenticate(auth: Authenticator, limiter?: AddressLimiter): Middleware {
  return async (ctx, next) => {
    if (OPEN_PATHS.has(ctx.path) || isConsolePath(ctx.path)) {
      await next();
      return;
    }
    const authorization = ctx.get('Authorization') || undefined;
    let principal = auth.fromCache(authorization);
    if (!principal) {
      const waitMs = limiter?.take(ctx.ip) ?? 0;
      if (waitMs > 0) {
        throw new TooManyRequestsError('rate_limited', 'too many requests that failed authentication from this address', Math.ceil(waitMs / 1000));
      }
      try {
        principal = await auth.authenticate(authorization);
      } catch (e) {
        ctx.set('WWW-Authenticate', 'Bearer realm="tasker"');
        throw e;
      }
      limiter?.refund(ctx.ip);
    }
    ctx.state.principal = principal;
    await next();
  };
}
