/**
 * Sampling that an untrusted caller cannot steer. The W3C parent-based samplers follow the
 * `sampled` flag of a remote parent, so any caller could switch tracing on for its requests
 * (cost, and a way to fill the trace backend) or off. Here, when the API marks a request's
 * extracted context as untrusted (`distrustCallerSampling`), the configured sampler decides as if
 * the request had no parent — on the caller's trace id, so the span still joins the caller's
 * trace and names its span as parent. Every other decision (local parents, a task's stored
 * context in the worker, trusted callers) passes through unchanged.
 *
 * Loaded only with the SDK (sdk-start.ts): it imports @opentelemetry/sdk-trace.
 */
import { diag, trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';
import { callerSamplingDistrusted } from './tracing';

export class CallerIndependentSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}

  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    const steerable = parent?.isRemote === true && callerSamplingDistrusted(ctx);
    return this.inner.shouldSample(steerable ? trace.deleteSpan(ctx) : ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `CallerIndependent{${this.inner.toString()}}`;
  }
}

/**
 * The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name, built as the SDK builds it when
 * given none (sdk-node's create-from-env, which it does not export); unknown names fall back to
 * the SDK default, parent-based always-on.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv): Sampler {
  const ratio = () => {
    const r = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
    if (env.OTEL_TRACES_SAMPLER_ARG === undefined || env.OTEL_TRACES_SAMPLER_ARG.trim() === '' || !(r >= 0 && r <= 1)) {
      diag.error(`OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG ?? ''} is missing or outside [0..1]; using 1`);
      return 1;
    }
    return r;
  };
  switch (env.OTEL_TRACES_SAMPLER?.trim()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    case undefined:
    case '':
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${env.OTEL_TRACES_SAMPLER}"; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
