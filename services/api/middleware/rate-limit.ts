/** 429 with Retry-After once an authenticated client spends its token bucket (shared across API replicas). */
import type { Middleware } from 'koa';
import type { Db } from '../../core/db/database';
import { TooManyRequestsError } from '../../core/errors/app-error';
import { takeToken } from '../data-access/rate-limit.repository';
import type { Principal } from '../domain/authenticator';

export function rateLimit(db: Db, ratePerSecond: number, burst: number): Middleware {
  return async (ctx, next) => {
    const principal = ctx.state.principal as Principal | undefined;
    if (ratePerSecond > 0 && principal) {
      const waitMs = await takeToken(db, principal.clientId, ratePerSecond, burst);
      if (waitMs > 0) {
        throw new TooManyRequestsError('rate_limited', `rate limit of ${ratePerSecond} requests/s exceeded`, Math.max(1, Math.ceil(waitMs / 1000)));
      }
    }
    await next();
  };
}
