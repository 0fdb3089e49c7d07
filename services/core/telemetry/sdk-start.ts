/**
 * Starts the OpenTelemetry SDK with the instrumentations Tasker uses. Loaded by the bootstrap only
 * when tracing is on; configured by the standard OTEL_* variables the bootstrap has settled.
 */
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { KoaLayerType } from '@opentelemetry/instrumentation-koa';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { CallerIndependentSampler, samplerFromEnv } from './caller-sampling';

export function startSdk(env: NodeJS.ProcessEnv): NodeSDK {
  const sdk = new NodeSDK({
    // The configured sampler, deciding alone for requests from callers the API does not trust.
    sampler: new CallerIndependentSampler(samplerFromEnv(env)),
    instrumentations: [
      getNodeAutoInstrumentations({
        // pg spans already show every query; knex's wrapper spans would double them.
        '@opentelemetry/instrumentation-knex': { enabled: false },
        // Tasker creates its own PRODUCER/CONSUMER spans: a task's attempts must join the trace stored
        // on its row, which a generic AMQP instrumentation cannot know.
        '@opentelemetry/instrumentation-amqplib': { enabled: false },
        // Log correlation is done by the logger's mixin (trace_id/span_id on every line).
        '@opentelemetry/instrumentation-pino': { enabled: false },
        // Route spans only: one span per anonymous middleware is noise in every trace.
        '@opentelemetry/instrumentation-koa': { ignoreLayersType: [KoaLayerType.MIDDLEWARE] },
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (req) => ['/health', '/ready', '/metrics'].includes(req.url ?? ''),
        },
      }),
    ],
  });
  sdk.start();
  return sdk;
}
