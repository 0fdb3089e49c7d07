/**
 * The API, wired: config → database → broker → domain → Koa app → servers. `main.ts` runs it with
 * signal handling (core/lifecycle/service); tests can run the same wiring in-process.
 */
import { join } from 'node:path';
import { loadConsoleAssets } from './console/console-assets';
import { createBroker } from '../core/amqp/broker';
import { createPublisher } from '../core/amqp/publisher';
import { buildTopology } from '../core/amqp/topology';
import type { Config } from '../core/config/config';
import { createDatabase, requiredSchemaVersion } from '../core/db/database';
import { brokerCheck, databaseCheck, schemaCheck } from '../core/health/readiness';
import { watchBrokerWork } from '../core/health/stall-watch';
import { listen, type RunningServer } from '../core/http/http-server';
import { createPeriodic } from '../core/lifecycle/periodic';
import type { Service } from '../core/lifecycle/service';
import { once } from '../core/lifecycle/shutdown';
import type { Logger } from '../core/log/logger';
import { createMetricsRegistry } from '../core/metrics/registry';
import { createAdvisoryLock } from '../core/recovery/advisory-lock';
import { createRecoveryLoops, recoverySettings } from '../core/recovery/recovery-loops';
import { anyWorkerConsuming } from '../core/recovery/worker-presence';
import { loadExtensions } from '../core/tasks/extension';
import { taskTypes } from '../core/tasks/task-types';
import { createApiKeyRepository } from '../core/auth/api-key.repository';
import { buildApp, buildOpsApp } from './app';
import { createAuthenticator } from './domain/authenticator';
import { createTaskRepository } from './data-access/task.repository';
import { createTerminalListener } from './data-access/terminal-listener';
import { createDeliveryRepository } from './data-access/webhook-delivery.repository';
import { createWebhookDeliveriesService } from './domain/webhook-deliveries.service';
import { createAddressPolicy } from './webhooks/address-policy';
import { guardedPost } from './webhooks/guarded-post';
import { createWebhookDeliverer } from './webhooks/webhook-deliverer';
import { createScheduleTicker } from '../core/schedules/ticker';
import { context } from '../core/telemetry/tracing';
import { createScheduleRepository } from './data-access/schedule.repository';
import { createScheduleService } from './domain/schedule.service';
import { createTaskDispatcher } from './domain/task-dispatcher';
import { createTaskService } from './domain/task.service';
import { createWaiterHub } from './domain/waiter-hub';
import { createApiMetrics } from './metrics';
import { createQueueMonitor } from './queue-monitor';
import { openApiDocument } from './routes/openapi';

export interface ApiService extends Service {
  /** Connects, listens; resolves with the bound port(s). */
  start(): Promise<{ port: number; adminPort: number }>;
}

/** Advisory-lock key of the API's recovery loops ('tasker:recovery' as 8 bytes). */
const RECOVERY_LOCK_KEY = 0x7461736b72656376n;

export async function createApiService(config: Config, logger: Logger): Promise<ApiService> {
  const extensions = loadExtensions(config.EXTENSIONS);
  const registry = createMetricsRegistry();
  const metrics = createApiMetrics(registry);

  const types = taskTypes(extensions);
  const db = createDatabase(config, logger, 'tasker-api');
  const broker = createBroker({
    urls: config.RABBITMQ_URL,
    heartbeatSeconds: config.AMQP_HEARTBEAT_SECONDS,
    topology: buildTopology(config.AMQP_PREFIX, types, config.AMQP_DELIVERY_LIMIT),
    logger,
    connectionName: 'tasker-api',
    onReconnect: () => metrics.brokerReconnects.inc(),
  });
  const basePublisher = await createPublisher(broker, logger);
  const publisher = extensions.reduce((p, e) => e.wrapPublisher?.(p) ?? p, basePublisher);
  const repo = createTaskRepository(db);
  const dispatcher = createTaskDispatcher({
    publisher,
    markPublished: (ids) => repo.markPublished(ids),
    logger,
    beforePublish: extensions.find((e) => e.beforeDispatch)?.beforeDispatch,
  });
  // Requests waiting for a result (?wait=): woken by this process's one LISTEN connection.
  const waiters = createWaiterHub({
    findTerminal: (ids) => repo.findTerminal(ids),
    recheckMs: config.WAIT_RECHECK_MS,
    logger,
    onStart: () => metrics.waiters.inc(),
    onEnd: (outcome) => {
      metrics.waiters.dec();
      metrics.waits.inc({ outcome });
    },
  });
  // Completion webhooks: every API replica delivers from the outbox (SKIP LOCKED claims); see docs/architecture.md.
  const deliveryRepo = createDeliveryRepository(db);
  const policy = createAddressPolicy(config.WEBHOOK_ALLOWED_CIDRS);
  const webhookSecret = config.WEBHOOK_SECRET;
  const deliverer = webhookSecret
    ? createWebhookDeliverer({
        repo: deliveryRepo,
        secret: webhookSecret,
        post: (url, body, headers) => guardedPost(url, body, headers, { policy, timeoutMs: config.WEBHOOK_TIMEOUT_MS }),
        maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
        retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
        retryMaxMs: config.WEBHOOK_RETRY_MAX_MS,
        batch: config.WEBHOOK_CONCURRENCY,
        pollMs: config.WEBHOOK_POLL_MS,
        // A claimed delivery is invisible to other replicas for two attempt deadlines.
        leaseMs: 2 * config.WEBHOOK_TIMEOUT_MS + 5_000,
        logger,
        onOutcome: (outcome, seconds) => {
          metrics.webhookDeliveries.inc({ outcome });
          metrics.webhookDuration.observe({ outcome }, seconds);
        },
      })
    : null;
  // A terminal task wakes its waiters, and the deliverer (a delivery row commits with the
  // transition): at most one look per 50 ms, so 500 completions/s cost 20 claim queries, not 500.
  let deliveryLookQueued = false;
  const wakeDeliverer = () => {
    if (!deliverer || deliveryLookQueued) return;
    deliveryLookQueued = true;
    setTimeout(() => {
      deliveryLookQueued = false;
      void deliverer.runNow();
    }, 50).unref();
  };
  const terminalListener = createTerminalListener(config.DATABASE_URL, waiters, logger, wakeDeliverer);
  // The limits the request schemas carry: the service validates with them, /openapi.json documents them.
  const schemaLimits = {
    timeoutCeilingMs: config.TASK_TIMEOUT_CEILING_MS,
    listMaxLimit: config.LIST_MAX_LIMIT,
    replayMaxBatch: config.REPLAY_MAX_BATCH,
    batchMaxTasks: config.BATCH_MAX_TASKS,
    waitMaxSeconds: config.WAIT_MAX_SECONDS,
    maxDelayMs: config.MAX_DELAY_MS,
  };
  const tasks = createTaskService(repo, dispatcher, waiters, {
    ...schemaLimits,
    types,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    replayRatePerSecond: config.REPLAY_RATE_PER_SECOND,
    maxPendingPerClient: config.MAX_PENDING_PER_CLIENT,
    webhooksEnabled: webhookSecret !== undefined,
  });
  const schedules = createScheduleService(createScheduleRepository(db), {
    types,
    timeoutCeilingMs: config.TASK_TIMEOUT_CEILING_MS,
    listMaxLimit: config.LIST_MAX_LIMIT,
  });
  // Every replica ticks (the API always runs; worker groups may be at zero): replicas take
  // different schedules (SKIP LOCKED) and the unique tick key keeps it to one task per tick.
  const ticker = createScheduleTicker({
    db,
    types,
    pollMs: config.SCHEDULE_POLL_MS,
    missedAfterMs: config.SCHEDULE_MISSED_AFTER_MS,
    logger,
    // Published like a submitted task; the publish span joins the task's trace (its `schedule tick` span).
    dispatch: (task, ctx) => context.with(ctx, () => dispatcher.dispatch(task)),
    onTicks: (result, n) => metrics.scheduleTicks.inc({ result }, n),
    onLag: (seconds) => metrics.scheduleLag.observe(seconds),
  });
  const auth = createAuthenticator({
    mode: config.AUTH_MODE,
    keys: createApiKeyRepository(db),
    cacheMs: config.AUTH_KEY_CACHE_MS,
    jwt:
      config.AUTH_JWT_ALGORITHMS.length > 0
        ? {
            jwksUrl: config.AUTH_JWT_JWKS_URL,
            publicKeyPem: config.AUTH_JWT_PUBLIC_KEY,
            secret: config.AUTH_JWT_SECRET,
            algorithms: config.AUTH_JWT_ALGORITHMS,
            issuer: config.AUTH_JWT_ISSUER,
            audience: config.AUTH_JWT_AUDIENCE,
            maxAgeSeconds: config.AUTH_JWT_MAX_AGE_SECONDS,
            clientClaim: config.AUTH_JWT_CLIENT_CLAIM,
          }
        : undefined,
  });
  if (config.AUTH_MODE === 'none') {
    logger.warn('AUTH_MODE=none: every caller is an anonymous admin; use only for local development');
  }
  const keyCleanup = createPeriodic(
    'idempotency-key-cleanup',
    60_000,
    async () => {
      const n = await tasks.deleteExpiredIdempotencyKeys();
      if (n > 0) logger.info({ deleted: n }, 'expired idempotency keys deleted');
    },
    logger,
  );
  const queueMonitor = createPeriodic(
    'queue-monitor',
    config.QUEUE_METRICS_INTERVAL_MS,
    createQueueMonitor({
      db,
      broker,
      types: types.map((t) => t.name),
      managementUrl: config.RABBITMQ_MANAGEMENT_URL,
      vhost: decodeURIComponent(new URL(config.RABBITMQ_URL[0]!).pathname.slice(1)) || '/',
      metrics,
      logger,
    }),
    logger,
  );
  // The sweeper and reaper run here too, because the API is always up: with every worker group at
  // zero replicas they publish a due retry (or a reaped lease), and its queue depth wakes the group.
  // One API replica at a time runs them (an advisory lock), and only while no worker consumes:
  // workers run their own as before.
  const recoveryLock = createAdvisoryLock({ databaseUrl: config.DATABASE_URL, key: RECOVERY_LOCK_KEY, name: 'recovery', logger });
  const recovery = createRecoveryLoops({
    db,
    broker,
    // The sweeper publishes as a worker's does: extensions wrap only the API's own dispatch.
    publisher: basePublisher,
    ...recoverySettings(config),
    logger,
    // Only while no worker consumes anywhere (a worker's own loops cover every type), and in one replica.
    guard: async () => !(await anyWorkerConsuming(broker)) && (await recoveryLock.held()),
  });
  let draining = false;
  const stall = watchBrokerWork('the publisher', () => publisher.isReady(), broker, () => draining, config.LIVENESS_STALL_MS);

  const ops = {
    readiness: {
      database: databaseCheck(db),
      schema: schemaCheck(db, requiredSchemaVersion()),
      broker: brokerCheck(broker, () => publisher.isReady()),
    },
    isDraining: () => draining,
    stalled: () => stall.stalled(),
    registry,
  };
  const app = buildApp({
    ...ops,
    tasks,
    deliveries: createWebhookDeliveriesService(deliveryRepo, { listMaxLimit: config.LIST_MAX_LIMIT }),
    schedules,
    logger,
    limits: { maxBodyBytes: config.MAX_BODY_BYTES, maxJsonDepth: config.MAX_JSON_DEPTH, batchMaxBodyBytes: config.BATCH_MAX_BODY_BYTES },
    metrics,
    auth,
    db,
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    trustedProxyHops: config.HTTP_TRUSTED_PROXY_HOPS,
    trustCallerSampling: config.TRACE_TRUST_INCOMING_SAMPLING,
    hsts: config.SECURITY_HSTS,
    serveOps: config.API_ADMIN_PORT === 0,
    openApi: openApiDocument(schemaLimits),
    taskTypes: types.map((t) => t.name),
    traceUrlTemplate: config.TRACE_URL_TEMPLATE,
    // dist/services/api → dist/console, where `npm run build` puts the bundle.
    console: config.CONSOLE_ENABLED ? loadConsoleAssets(join(__dirname, '..', '..', 'console')) : null,
  });

  let server: RunningServer | null = null;
  let opsServer: RunningServer | null = null;

  return {
    async start() {
      await broker.start();
      terminalListener.start();
      waiters.start();
      deliverer?.start();
      const timeouts = {
        host: config.HOST,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: config.HTTP_KEEPALIVE_TIMEOUT_MS,
      };
      server = await listen(app.callback(), { ...timeouts, port: config.PORT });
      opsServer = config.API_ADMIN_PORT === 0 ? null : await listen(buildOpsApp(ops).callback(), { ...timeouts, port: config.API_ADMIN_PORT });
      keyCleanup.start();
      queueMonitor.start();
      void queueMonitor.runNow();
      recovery.start();
      ticker.start();
      logger.info({ port: server.port, admin_port: opsServer?.port ?? server.port, host: config.HOST, auth: config.AUTH_MODE }, 'api listening');
      return { port: server.port, adminPort: opsServer?.port ?? server.port };
    },
    stop: once(async (signal: string = 'stop') => {
      draining = true;
      logger.info({ signal, timeout_ms: config.DRAIN_TIMEOUT_MS, waiting: waiters.count() }, 'draining in-flight requests; waiting requests answered now');
      // A waiting request would hold the drain for up to WAIT_MAX_SECONDS: answer it with the
      // task's current state (Wait-Timed-Out: true) so the client can wait again on another replica.
      waiters.releaseAll();
      await server?.close(config.DRAIN_TIMEOUT_MS);
      await opsServer?.close(1_000);
      stall.stop();
      // The ticker stops before the dispatcher's flush, so every task it created is published (or left to the sweeper).
      await Promise.all([ticker.stop(), keyCleanup.stop(), queueMonitor.stop(), recovery.stop(), waiters.stop(), terminalListener.stop(), deliverer?.stop()]);
      await recoveryLock.release();
      await dispatcher.flush();
      await broker.stop();
      await db.destroy();
    }),
  };
}
