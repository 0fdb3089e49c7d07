/**
 * The SERVER span of every API request (probes and scrapes excepted), continuing the caller's W3C
 * trace context. Tasker makes this span itself instead of enabling the http and koa
 * instrumentations: they cost about half of the API's per-request CPU with every trace exported
 * (0.57 vs 0.30 ms per POST /tasks, measured for issue 7), mostly in attributes and event-emitter
 * wrapping nobody reads, and one span named by the route carries what a trace needs.
 */
import type { Middleware } from 'koa';
import { context, distrustCallerSampling, propagation, SpanKind, SpanStatusCode, trace, tracer } from '../../core/telemetry/tracing';

const UNTRACED = new Set(['/health', '/ready', '/metrics']);

/**
 * `trustCallerSampling` (TRACE_TRUST_INCOMING_SAMPLING): follow the sampled flag of the caller's
 * `traceparent`. Off, the caller's trace id and parent are kept but our sampler decides, so a
 * caller cannot switch tracing on (or off) for its requests.
 */
export function serverSpan(o: { trustCallerSampling: boolean }): Middleware {
  return async (ctx, next) => {
    if (UNTRACED.has(ctx.path)) {
      await next();
      return;
    }
    const extracted = propagation.extract(context.active(), ctx.headers);
    const parent = o.trustCallerSampling ? extracted : distrustCallerSampling(extracted);
    const span = tracer.startSpan(
      ctx.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': ctx.method,
          'url.path': ctx.path,
          'url.scheme': ctx.protocol,
          'network.protocol.version': ctx.req.httpVersion,
          'user_agent.original': ctx.get('user-agent') || undefined,
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      // The route template, never the raw path (ids would make every span name unique).
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      if (typeof route === 'string') {
        span.updateName(`${ctx.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', ctx.status);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
