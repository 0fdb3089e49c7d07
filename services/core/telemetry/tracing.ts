/**
 * The thin telemetry seam: span attribute names in one place, and the helpers that carry a task's
 * trace context through message headers and the task row.
 */
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

export const tracer = trace.getTracer('tasker');
export { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace };
export type { Context, Span };

/** Every span attribute name Tasker sets (messaging names follow the OpenTelemetry conventions). */
export const ATTR = {
  MESSAGING_SYSTEM: 'messaging.system',
  MESSAGING_OPERATION_TYPE: 'messaging.operation.type',
  MESSAGING_OPERATION_NAME: 'messaging.operation.name',
  MESSAGING_DESTINATION: 'messaging.destination.name',
  MESSAGING_ROUTING_KEY: 'messaging.rabbitmq.destination.routing_key',
  MESSAGING_MESSAGE_ID: 'messaging.message.id',
  TASK_ID: 'tasker.task.id',
  TASK_TYPE: 'tasker.task.type',
  TASK_ATTEMPT: 'tasker.task.attempt',
  TASK_OUTCOME: 'tasker.task.outcome',
  TASK_REPUBLISHED: 'tasker.task.republished',
  WEBHOOK_DELIVERY_ID: 'tasker.webhook.delivery.id',
  SCHEDULE_ID: 'tasker.schedule.id',
  SCHEDULE_TICK: 'tasker.schedule.tick',
  WEBHOOK_OUTCOME: 'tasker.webhook.outcome',
  HTTP_RESPONSE_STATUS: 'http.response.status_code',
} as const;

/** The messaging and task attributes shared by the PRODUCER and CONSUMER spans of a task. */
export function messagingAttributes(
  operation: { type: 'send' | 'process'; name: 'publish' | 'process' },
  destination: string,
  task: { id: string; type: string },
): Attributes {
  return {
    [ATTR.MESSAGING_SYSTEM]: 'rabbitmq',
    [ATTR.MESSAGING_OPERATION_TYPE]: operation.type,
    [ATTR.MESSAGING_OPERATION_NAME]: operation.name,
    [ATTR.MESSAGING_DESTINATION]: destination,
    [ATTR.MESSAGING_MESSAGE_ID]: task.id,
    [ATTR.TASK_ID]: task.id,
    [ATTR.TASK_TYPE]: task.type,
  };
}

/** W3C trace context as stored on the task row and sent in message headers. */
export type TraceCarrier = Record<string, string>;

/** The current context as a carrier (traceparent/tracestate). */
export function captureContext(ctx: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function contextFrom(carrier: unknown): Context {
  if (!carrier || typeof carrier !== 'object') return ROOT_CONTEXT;
  const c: TraceCarrier = {};
  for (const [k, v] of Object.entries(carrier as Record<string, unknown>)) {
    if (typeof v === 'string') c[k] = v;
    else if (Buffer.isBuffer(v)) c[k] = v.toString('utf8');
  }
  return propagation.extract(ROOT_CONTEXT, c);
}

const CALLER_SAMPLING_DISTRUSTED = createContextKey('tasker.caller-sampling-distrusted');

/**
 * Marks a context extracted from an untrusted caller: the sampler (caller-sampling.ts) then
 * ignores the caller's sampled flag and decides on its own, keeping the caller's trace id and parent.
 */
export function distrustCallerSampling(ctx: Context): Context {
  return ctx.setValue(CALLER_SAMPLING_DISTRUSTED, true);
}

export function callerSamplingDistrusted(ctx: Context): boolean {
  return ctx.getValue(CALLER_SAMPLING_DISTRUSTED) === true;
}

/** Runs `fn` in a new span, ending it with the right status; errors are recorded and rethrown. */
export async function inSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context; links?: Link[] },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: opts.kind, attributes: opts.attributes, links: opts.links }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    span.end();
  }
}

/** The active span's context, when there is a valid one. */
function activeSpanContext() {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc : undefined;
}

/** The active trace's id if its spans are being recorded and exported (an exemplar must link to a trace that exists). */
export function sampledTraceId(): string | undefined {
  const sc = activeSpanContext();
  return sc && (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? sc.traceId : undefined;
}

/** trace_id/span_id of the active span, for log lines. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const sc = activeSpanContext();
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
}
