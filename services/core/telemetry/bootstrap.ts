/**
 * OpenTelemetry bootstrap, loaded with `node --import` before any instrumented module (http, koa,
 * pg, knex). Configured by the standard OTEL_* variables; this is the one module besides config/
 * that reads the environment, because it must run before the application loads.
 *
 * With no OTLP endpoint configured, spans are still created (trace ids reach the logs and the
 * message headers) but nothing is exported, so nothing retries or logs export errors in a loop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { KoaLayerType } from '@opentelemetry/instrumentation-koa';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SDK_KEY } from './sdk-handle';

const env = process.env;
const entry = /services[\\/](api|worker|migrate)[\\/]main\.js$/.exec(process.argv[1] ?? '')?.[1];
const serviceName = env.OTEL_SERVICE_NAME ?? (entry ? `tasker-${entry}` : 'tasker');

function packageVersion(): string {
  for (const p of ['../../../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(fs.readFileSync(path.join(__dirname, p), 'utf8')) as { version: string }).version;
    } catch {
      // try the next location (compiled vs source layout)
    }
  }
  return 'unknown';
}

const exporting =
  env.OTEL_SDK_DISABLED !== 'true' &&
  (Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ||
    (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== 'none'));

// Prometheus (prom-client) owns metrics and pino owns logs: the SDK exports traces only.
env.OTEL_METRICS_EXPORTER ??= 'none';
env.OTEL_LOGS_EXPORTER ??= 'none';
env.OTEL_SERVICE_NAME = serviceName;
const attrs = [`service.version=${packageVersion()}`, `deployment.environment.name=${env.NODE_ENV ?? 'development'}`];
env.OTEL_RESOURCE_ATTRIBUTES = [...attrs, env.OTEL_RESOURCE_ATTRIBUTES].filter(Boolean).join(',');

const sdk = new NodeSDK({
  // No exporter: a processor that keeps nothing, so a tracer provider still exists.
  spanProcessors: exporting
    ? undefined
    : [{ onStart() {}, onEnd() {}, forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() }],
  instrumentations: [
    getNodeAutoInstrumentations({
      '@opentelemetry/instrumentation-fs': { enabled: false },
      '@opentelemetry/instrumentation-dns': { enabled: false },
      // pg spans already show every query; knex's wrapper spans would double them.
      '@opentelemetry/instrumentation-knex': { enabled: false },
      '@opentelemetry/instrumentation-net': { enabled: false },
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
if (env.OTEL_SDK_DISABLED !== 'true') {
  sdk.start();
  (globalThis as Record<symbol, unknown>)[SDK_KEY] = sdk;
}
