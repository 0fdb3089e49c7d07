/**
 * OpenTelemetry bootstrap, loaded with `node --import` before any instrumented module (http, koa,
 * pg, knex). Configured by the standard OTEL_* variables; this is the one module besides config/
 * that reads the environment, because it must run before the application loads.
 *
 * Tracing is on when an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_TRACES_EXPORTER
 * other than none) and OTEL_SDK_DISABLED is not true. Otherwise the SDK is not started at all: no
 * module is patched, no span or trace id is made, and logs correlate by task_id and request_id.
 * Measured (issue 7): instrumentations that record nothing still cost ~30 % of the API's ingest
 * throughput, so paying that with no trace backend to look at would be waste.
 */
import fs from 'node:fs';
import path from 'node:path';
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

// Only pg is instrumented: every enabled instrumentation wraps its module and costs CPU on every
// call, and the http and koa ones cost half of the API's per-request CPU (the API makes its own
// SERVER span instead: services/api/middleware/server-span.ts). Operators can widen the list with
// the package's own variable, e.g. OTEL_NODE_ENABLED_INSTRUMENTATIONS=pg,undici.
env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ??= 'pg';

// Off means off: constructing an instrumentation already patches its module, and the SDK with its
// instrumentations is ~50 MB of a process's memory, so it is not even loaded unless tracing is on.
if (exporting) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- conditional, synchronous load: it must patch before the application's modules load
  const { startSdk } = require('./sdk-start') as typeof import('./sdk-start');
  (globalThis as Record<symbol, unknown>)[SDK_KEY] = startSdk(env);
}
