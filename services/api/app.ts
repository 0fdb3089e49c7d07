/** Builds the Koa app from its dependencies without listening, so tests can use app.callback(). */
import Koa from 'koa';
import type { ReadinessCheck } from '../core/health/readiness';
import type { Logger } from '../core/log/logger';
import { metricsRoutes } from '../core/http/metrics.routes';
import type { MetricsRegistry } from '../core/metrics/registry';
import type { ApiMetrics } from './metrics';
import type { Db } from '../core/db/database';
import type { Authenticator } from './domain/authenticator';
import { createAddressLimiter } from './domain/address-limiter';
import { authenticate } from './middleware/auth';
import { rateLimit } from './middleware/rate-limit';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';
import { serverSpan } from './middleware/server-span';
import { tracingEnabled } from '../core/telemetry/sdk-handle';
import type { TaskService } from './domain/task.service';
import { errorHandler } from './middleware/error-handler';
import { healthRoutes } from '../core/http/health.routes';
import { tasksRoutes, type BodyLimits } from './routes/tasks.routes';
import { drainRequest } from './middleware/drain-request';
import { openApiRoutes } from './routes/openapi.routes';
import { webhooksRoutes } from './routes/webhooks.routes';
import type { WebhookDeliveriesService } from './domain/webhook-deliveries.service';
import type { ScheduleService } from './domain/schedule.service';
import { schedulesRoutes } from './routes/schedules.routes';
import { consoleRoutes } from './routes/console.routes';
import { consoleDataRoutes } from './routes/console-data.routes';
import type { ConsoleAsset } from './console/console-assets';

export interface AppDeps {
  tasks: TaskService;
  deliveries: WebhookDeliveriesService;
  schedules: ScheduleService;
  readiness: Record<string, ReadinessCheck>;
  isDraining: () => boolean;
  /** Liveness: why the process should be restarted (a publisher that cannot come back), or null. */
  stalled?: () => string | null;
  logger: Logger;
  limits: BodyLimits;
  metrics: ApiMetrics;
  registry: MetricsRegistry;
  auth: Authenticator;
  db: Db;
  /** perSecond 0 = off; burst 0 = 2 × perSecond. */
  rateLimit: { perSecond: number; burst: number };
  /** Proxies in front of the API whose X-Forwarded-For entries are trusted (0 = the socket address is the caller). */
  trustedProxyHops: number;
  /** Follow the sampled flag of a caller's traceparent (TRACE_TRUST_INCOMING_SAMPLING). */
  trustCallerSampling: boolean;
  hsts: boolean;
  /** Served at /openapi.json (routes/openapi.ts). */
  openApi: Record<string, unknown>;
  /** false when /health, /ready and /metrics are served on a separate admin port. */
  serveOps: boolean;
  /** Registered task types (the overview lists each, even with nothing to count). */
  taskTypes: readonly string[];
  /** TRACE_URL_TEMPLATE: `{trace_id}` → a task's trace in a viewer; empty: no link. */
  traceUrlTemplate: string;
  /** The web console's files, served at /ui; null: the console is off (CONSOLE_ENABLED=false). */
  console: ReadonlyMap<string, ConsoleAsset> | null;
}

export function buildApp(d: AppDeps): Koa {
  // X-Forwarded-For is trusted only for the configured number of hops: beyond them a caller could
  // write any address into it and escape its address limit.
  const app = new Koa(d.trustedProxyHops > 0 ? { proxy: true, maxIpsCount: d.trustedProxyHops } : { proxy: false });
  app.silent = true; // errors are logged by errorHandler, once
  // Outermost: whatever answers early, the rest of the body is read before the response closes the socket.
  app.use(drainRequest(Math.max(16 * d.limits.maxBodyBytes, 8 * 1024 * 1024)));
  // With tracing off every span would be a no-op: keep the middleware off the request path.
  if (tracingEnabled()) app.use(serverSpan({ trustCallerSampling: d.trustCallerSampling }));
  app.use(requestContext(d.metrics));
  app.use(errorHandler(d.logger));
  app.use(securityHeaders(d.hsts));
  if (d.rateLimit.perSecond > 0) {
    const burst = Math.max(1, d.rateLimit.burst || Math.ceil(d.rateLimit.perSecond * 2));
    // Before credentials are checked, per source address (in memory): floods of bad credentials
    // cost no key lookups. After authentication, per client, shared by every replica (PostgreSQL).
    app.use(authenticate(d.auth, createAddressLimiter({ ratePerSecond: d.rateLimit.perSecond, burst })));
    app.use(rateLimit(d.db, d.rateLimit.perSecond, burst));
  } else {
    app.use(authenticate(d.auth));
  }
  // The console is not part of the API's contract (appRouters, the OpenAPI document).
  for (const router of [...appRouters(d), ...(d.console ? [consoleRoutes(d.console)] : [])]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}

/** Every router the app serves (the OpenAPI test checks each route is documented). */
export function appRouters(
  d: Pick<
    AppDeps,
    'serveOps' | 'readiness' | 'isDraining' | 'stalled' | 'registry' | 'tasks' | 'deliveries' | 'schedules' | 'limits' | 'metrics' | 'openApi' | 'db' | 'taskTypes' | 'traceUrlTemplate'
  >,
) {
  return [
    ...(d.serveOps ? opsRouters(d) : []),
    tasksRoutes(d.tasks, d.limits, d.metrics, d.traceUrlTemplate),
    consoleDataRoutes(d.db, d.taskTypes),
    schedulesRoutes(d.schedules, d.limits),
    webhooksRoutes(d.deliveries),
    openApiRoutes(d.openApi),
  ];
}

function opsRouters(d: Pick<AppDeps, 'readiness' | 'isDraining' | 'stalled' | 'registry'>) {
  return [healthRoutes(d.readiness, d.isDraining, d.stalled), metricsRoutes(d.registry)];
}

/** /health, /ready and /metrics alone, for a separate admin port (API_ADMIN_PORT). */
export function buildOpsApp(d: Pick<AppDeps, 'readiness' | 'isDraining' | 'stalled' | 'registry'>): Koa {
  const app = new Koa();
  app.silent = true;
  for (const router of opsRouters(d)) app.use(router.routes());
  return app;
}
