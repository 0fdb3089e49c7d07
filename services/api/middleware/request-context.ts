/**
 * Per request: a request id (the caller's `X-Request-Id` when well-formed, else a new one) echoed
 * in the response and set on the trace; the latency histogram by route template (never the raw
 * path, so ids cannot explode the label set).
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { trace } from '../../core/telemetry/tracing';
import type { ApiMetrics } from '../metrics';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestContext(metrics: ApiMetrics): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    trace.getActiveSpan()?.setAttribute('http.request.id', requestId);
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string })._matchedRoute;
      end({
        method: ctx.method,
        route: typeof route === 'string' ? route : 'unmatched',
        status_class: `${Math.floor(ctx.status / 100)}xx`,
      });
    }
  };
}
