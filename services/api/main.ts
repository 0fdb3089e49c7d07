/** Composition root of the API process: config → logger → database → broker → app → server. */
import { createBroker } from '../core/amqp/broker';
import { createPublisher } from '../core/amqp/publisher';
import { buildTopology } from '../core/amqp/topology';
import { loadConfig } from '../core/config/config';
import { createDatabase, requiredSchemaVersion } from '../core/db/database';
import { brokerCheck, databaseCheck, schemaCheck } from '../core/health/readiness';
import { listen } from '../core/http/http-server';
import { createPeriodic } from '../core/lifecycle/periodic';
import { handleFatalErrors, handleShutdownSignals } from '../core/lifecycle/shutdown';
import { createLogger } from '../core/log/logger';
import { createMetricsRegistry } from '../core/metrics/registry';
import { taskTypes } from '../core/tasks/task-types';
import { shutdownTelemetry } from '../core/telemetry/sdk-handle';
import { buildApp } from './app';
import { createTaskRepository } from './data-access/task.repository';
import { createTaskDispatcher } from './domain/task-dispatcher';
import { createTaskService } from './domain/task.service';
import { createApiMetrics } from './metrics';
import { createQueueMonitor } from './queue-monitor';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('tasker-api', config.LOG_LEVEL);
  handleFatalErrors(logger);
  const faults = new Set(config.FAULT_INJECTION);
  const registry = createMetricsRegistry();
  const metrics = createApiMetrics(registry);

  const types = taskTypes(config.ENABLE_TEST_TASK_TYPES);
  const db = createDatabase(config, logger, 'tasker-api');
  const broker = createBroker({
    url: config.RABBITMQ_URL,
    heartbeatSeconds: config.AMQP_HEARTBEAT_SECONDS,
    topology: buildTopology(config.AMQP_PREFIX, types, config.AMQP_DELIVERY_LIMIT),
    logger,
    connectionName: 'tasker-api',
    onReconnect: () => metrics.brokerReconnects.inc(),
  });
  const publisher = await createPublisher(broker, logger, { publishCopies: faults.has('publish-thrice') ? 3 : 1 });
  const repo = createTaskRepository(db);
  const dispatcher = createTaskDispatcher({
    publisher,
    markPublished: (ids) => repo.markPublished(ids),
    logger,
    // Fault-injection suite only: die after the commit, before the publish; the sweeper must recover.
    beforePublish: faults.has('api-exit-after-commit') ? () => process.exit(70) : undefined,
  });
  const tasks = createTaskService(repo, dispatcher, {
    types,
    timeoutCeilingMs: config.TASK_TIMEOUT_CEILING_MS,
    idempotencyTtlMs: config.IDEMPOTENCY_TTL_MS,
    listMaxLimit: config.LIST_MAX_LIMIT,
    replayRatePerSecond: config.REPLAY_RATE_PER_SECOND,
    replayMaxBatch: config.REPLAY_MAX_BATCH,
  });
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
      vhost: decodeURIComponent(new URL(config.RABBITMQ_URL).pathname.slice(1)) || '/',
      metrics,
      logger,
    }),
    logger,
  );
  let draining = false;

  const app = buildApp({
    tasks,
    readiness: {
      database: databaseCheck(db),
      schema: schemaCheck(db, requiredSchemaVersion()),
      broker: brokerCheck(broker, () => publisher.isReady()),
    },
    isDraining: () => draining,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    metrics,
    registry,
  });

  await broker.start();
  const server = await listen(app.callback(), {
    host: config.HOST,
    port: config.PORT,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEPALIVE_TIMEOUT_MS,
  });
  keyCleanup.start();
  queueMonitor.start();
  void queueMonitor.runNow();
  logger.info({ port: server.port, host: config.HOST }, 'api listening');

  handleShutdownSignals(logger, async (signal) => {
    draining = true;
    logger.info({ signal, timeout_ms: config.DRAIN_TIMEOUT_MS }, 'signal received; draining in-flight requests');
    await server.close(config.DRAIN_TIMEOUT_MS);
    await Promise.all([keyCleanup.stop(), queueMonitor.stop()]);
    await dispatcher.flush();
    await broker.stop();
    await db.destroy();
    await shutdownTelemetry();
  });
}

main().catch((err: unknown) => {
  // Config errors and startup failures land here, before or instead of the logger.
  process.stderr.write(`tasker-api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
