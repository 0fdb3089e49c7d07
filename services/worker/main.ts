/**
 * Composition root of the worker process: consumes its task types' queues, and runs the outbox
 * sweeper and the lease reaper (safe to run in every replica: both use SKIP LOCKED).
 */
import os from 'node:os';
import { createBroker } from '../core/amqp/broker';
import { createPublisher } from '../core/amqp/publisher';
import { buildTopology, queuesFor } from '../core/amqp/topology';
import { loadConfig } from '../core/config/config';
import { createDatabase, requiredSchemaVersion } from '../core/db/database';
import { brokerCheck, databaseCheck, schemaCheck } from '../core/health/readiness';
import { listen } from '../core/http/http-server';
import { createPeriodic } from '../core/lifecycle/periodic';
import { handleFatalErrors, handleShutdownSignals } from '../core/lifecycle/shutdown';
import { createLogger } from '../core/log/logger';
import { createMetricsRegistry } from '../core/metrics/registry';
import { shutdownTelemetry } from '../core/telemetry/sdk-handle';
import { createWorkerMetrics } from './metrics';
import { taskTypes } from '../core/tasks/task-types';
import { createCancelListener } from './cancel-listener';
import { buildAdminApp } from './admin-server';
import { createConsumer } from './consumer';
import { createTaskStore } from './data-access/task-store';
import { createReap } from './reaper';
import { createRegistry, selectTypes } from './registry';
import { createSweep } from './sweeper';
import { createTaskRunner } from './task-runner';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('tasker-worker', config.LOG_LEVEL);
  handleFatalErrors(logger);
  const metricsRegistry = createMetricsRegistry();
  const metrics = createWorkerMetrics(metricsRegistry);

  const db = createDatabase(config, logger, 'tasker-worker');
  const registry = createRegistry(config, db);
  const types = selectTypes(registry, config.WORKER_TASK_TYPES);
  const topology = buildTopology(config.AMQP_PREFIX, taskTypes(config.ENABLE_TEST_TASK_TYPES), config.AMQP_DELIVERY_LIMIT);
  const broker = createBroker({
    urls: config.RABBITMQ_URL,
    heartbeatSeconds: config.AMQP_HEARTBEAT_SECONDS,
    topology,
    logger,
    connectionName: 'tasker-worker',
    onReconnect: () => metrics.brokerReconnects.inc(),
  });
  const publisher = await createPublisher(broker, logger);
  const store = createTaskStore(db);
  const runner = createTaskRunner({
    store,
    registry,
    logger,
    workerId: `${os.hostname()}:${process.pid}`,
    leaseMs: config.LEASE_MS,
    heartbeatMs: config.HEARTBEAT_MS,
    backoff: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
    metrics,
  });
  const cancels = createCancelListener(config.DATABASE_URL, (id) => runner.cancel(id), logger);
  const prefetch = Math.max(config.WORKER_CONCURRENCY, config.WORKER_PREFETCH || 2 * config.WORKER_CONCURRENCY);
  const consumer = createConsumer({ broker, queues: queuesFor(topology, types), concurrency: config.WORKER_CONCURRENCY, prefetch, runner, logger });
  const sweeper = createPeriodic(
    'sweeper',
    config.SWEEP_INTERVAL_MS,
    createSweep(
      db,
      publisher,
      {
        limit: config.SWEEP_BATCH,
        unconfirmedAfterMs: config.SWEEP_UNCONFIRMED_AFTER_MS,
        republishAfterMs: config.SWEEP_REPUBLISH_AFTER_MS,
      },
      logger,
      (rows) => {
        for (const r of rows) metrics.sweeperRepublished.inc({ reason: r.reason });
      },
    ),
    logger,
  );
  const reaper = createPeriodic(
    'reaper',
    config.REAP_INTERVAL_MS,
    createReap(store, config.SWEEP_BATCH, logger, () => sweeper.runNow(), metrics),
    logger,
  );
  let draining = false;

  const admin = await listen(
    buildAdminApp(
      {
        database: databaseCheck(db),
        schema: schemaCheck(db, requiredSchemaVersion()),
        broker: brokerCheck(broker, () => consumer.isConsuming()),
      },
      () => draining,
      metricsRegistry,
    ).callback(),
    {
      host: config.HOST,
      port: config.WORKER_ADMIN_PORT,
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: config.HTTP_KEEPALIVE_TIMEOUT_MS,
    },
  );
  // Open a pooled connection now, so the first task does not pay for it.
  await db.raw('SELECT 1').catch((err: unknown) => logger.warn({ err }, 'database not reachable yet; claims will retry'));
  await consumer.start();
  await broker.start();
  cancels.start();
  sweeper.start();
  reaper.start();
  logger.info({ types, concurrency: config.WORKER_CONCURRENCY, prefetch, admin_port: admin.port }, 'worker started');

  handleShutdownSignals(logger, async (signal) => {
    draining = true;
    logger.info(
      { signal, in_flight: consumer.inFlight(), timeout_ms: config.DRAIN_TIMEOUT_MS },
      'signal received; stopping consumption and draining in-flight tasks',
    );
    await consumer.stop(config.DRAIN_TIMEOUT_MS);
    runner.stop();
    await Promise.all([sweeper.stop(), reaper.stop(), cancels.stop()]);
    await broker.stop();
    await admin.close(1_000);
    await db.destroy();
    await shutdownTelemetry();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`tasker-worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
