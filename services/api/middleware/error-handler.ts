/**
 * The one place errors become HTTP responses: `{"error": {"code", "message"}}`.
 * Messages are exposed for 4xx and for dependency outages; anything else is a 500 with a
 * generic message, logged with its stack.
 */
import type { Middleware } from 'koa';
import { AppError, TooManyRequestsError, UnavailableError } from '../../core/errors/app-error';
import { isDatabaseUnavailable } from '../../core/db/database';
import type { Logger } from '../../core/log/logger';

/** Errors thrown by koa, @koa/router and raw-body carry `status` and `type`/`expose`. */
interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

const CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
};

export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } };
      }
    } catch (e: unknown) {
      if (e instanceof UnavailableError || isDatabaseUnavailable(e)) {
        const err = e instanceof UnavailableError ? e : new UnavailableError('database unavailable', 5, { cause: e });
        logger.warn({ err: e, path: ctx.path }, 'dependency unavailable; answered 503');
        ctx.status = 503;
        ctx.set('Retry-After', String(err.retryAfterSeconds));
        ctx.body = { error: { code: err.code, message: err.message } };
        return;
      }
      if (e instanceof AppError) {
        ctx.status = e.status;
        if (e instanceof TooManyRequestsError) ctx.set('Retry-After', String(e.retryAfterSeconds));
        ctx.body = { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
        if (e.status >= 500) logger.error({ err: e }, 'request failed');
        return;
      }
      const h = (typeof e === 'object' && e !== null ? e : {}) as HttpLikeError;
      const status = h.status ?? h.statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { error: { code: CODES[status] ?? 'bad_request', message: h.expose ? String(h.message) : CODES[status] ?? 'bad request' } };
        return;
      }
      logger.error({ err: e, method: ctx.method, path: ctx.path }, 'unhandled error; answered 500');
      ctx.status = 500;
      ctx.body = { error: { code: 'internal_error', message: 'internal server error' } };
    }
  };
}
