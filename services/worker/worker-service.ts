/**
 * The worker, wired: consumes its task types' queues through the task runner, and runs the outbox
 * sweeper and the lease reaper (core/recovery; safe in every replica: both use SKIP LOCKED). `main.ts` runs it
 * with signal handling; tests can run the same wiring in-process.
 */
import os from 'node:os';
import { createBroker } from '../core/amqp/broker';
import { createPublisher } from '../core/amqp/publisher';
import { buildTopology, queuesFor } from '../core/amqp/topology';
import type { Config } from '../core/config/config';
import { createDatabase, requiredSchemaVersion } from '../core/db/database';
import { waitForSchema } from '../core/db/wait-for-schema';
import { brokerCheck, databaseCheck, schemaCheck } from '../core/health/readiness';
import { watchBrokerWork } from '../core/health/stall-watch';
import { listen, type RunningServer } from '../core/http/http-server';
import type { Service } from '../core/lifecycle/service';
import { once } from '../core/lifecycle/shutdown';
import type { Logger } from '../core/log/logger';
import { createMetricsRegistry } from '../core/metrics/registry';
import { createRecoveryLoops, recoverySettings } from '../core/recovery/recovery-loops';
import { loadExtensions } from '../core/tasks/extension';
import { claimNext, dueClaimable, parkHeldRows, type Fairness } from '../core/tasks/state/claim-next';
import { extendLeases } from '../core/tasks/state/heartbeat';
import { taskTypes } from '../core/tasks/task-types';
import { buildAdminApp } from './admin-server';
import { createConsumer } from './consumer';
import { createClaimer } from './execution/claimer';
import { createLeaseKeeper } from './execution/lease-keeper';
import { createOutcomeWriter } from './execution/outcome-writer';
import { createTaskRunner } from './execution/task-runner';
import { createRegistry, selectTypes } from './handler-registry';
import { attemptMetrics } from './observe/attempt-metrics';
import { attemptTracing } from './observe/attempt-tracing';
import { createWorkerMetrics } from './observe/worker-metrics';
import { createCancelListener, listenClient } from './recovery/cancel-listener';

export async function createWorkerService(config: Config, logger: Logger): Promise<Service> {
  const metricsRegistry = createMetricsRegistry();
  const metrics = createWorkerMetrics(metricsRegistry);
  const extensions = loadExtensions(config.EXTENSIONS);

  const db = createDatabase(config, logger, 'tasker-worker');
  const registry = createRegistry(config, db, extensions);
  const types = selectTypes(registry, config.WORKER_TASK_TYPES);
  const topology = buildTopology(config.AMQP_PREFIX, taskTypes(extensions), config.AMQP_DELIVERY_LIMIT);
  const broker = createBroker({
    urls: config.RABBITMQ_URL,
    heartbeatSeconds: config.AMQP_HEARTBEAT_SECONDS,
    topology,
    logger,
    connectionName: 'tasker-worker',
    onReconnect: () => metrics.brokerReconnects.inc(),
  });
  const publisher = await createPublisher(broker, logger);
  const workerId = `${os.hostname()}:${process.pid}`;
  const leases = createLeaseKeeper({ extend: (l) => extendLeases(db, l, config.LEASE_MS), heartbeatMs: config.HEARTBEAT_MS, logger });
  const fairness: Fairness = { weights: config.CLIENT_WEIGHTS, defaultWeight: config.CLIENT_DEFAULT_WEIGHT, maxRunning: config.CLIENT_MAX_RUNNING };
  const claimer = createClaimer({
    claimNext: (type, named, token) =>
      claimNext(db, { type, count: named.length, named, token, leaseMs: config.LEASE_MS, workerId, fairness }),
    dueClaimable: (type, own) => dueClaimable(db, type, fairness, own),
    parkHeld: (type) => parkHeldRows(db, type, 1, fairness),
    logger,
  });
  const runner = createTaskRunner({
    claimer,
    leases,
    outcomes: createOutcomeWriter(db, config.LEASE_MS),
    registry,
    backoff: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
    snooze: { max: config.MAX_SNOOZES, maxDelayMs: config.SNOOZE_MAX_MS },
    logger,
    observer: { ...attemptTracing(), ...attemptMetrics(metrics) },
  });
  const cancels = createCancelListener({ connect: () => listenClient(config.DATABASE_URL), onCancel: (id) => runner.cancel(id), logger });
  const prefetch = Math.max(config.WORKER_CONCURRENCY, config.WORKER_PREFETCH || 2 * config.WORKER_CONCURRENCY);
  const consumer = createConsumer({ broker, queues: queuesFor(topology, types), concurrency: config.WORKER_CONCURRENCY, prefetch, runner, logger });
  const recovery = createRecoveryLoops({
    db,
    broker,
    publisher,
    ...recoverySettings(config),
    logger,
    onRepublished: (rows) => {
      for (const r of rows) metrics.sweeperRepublished.inc({ reason: r.reason });
    },
    onStaleHeld: (queue) => metrics.sweeperStaleHeld.inc({ queue }),
    onReaped: (rows) => {
      for (const r of rows) {
        const failed = r.status === 'failed';
        metrics.leaseTakeovers.inc({ outcome: failed ? 'failed' : 'requeued' });
        if (failed) metrics.finished.inc({ type: r.type, outcome: 'dead_lettered' });
      }
    },
  });
  let draining = false;
  const stall = watchBrokerWork('the consumer', () => consumer.isConsuming(), broker, () => draining, config.LIVENESS_STALL_MS);
  let admin: RunningServer | null = null;
  const adminApp = buildAdminApp(
    {
      database: databaseCheck(db),
      schema: schemaCheck(db, requiredSchemaVersion()),
      broker: brokerCheck(broker, () => consumer.isConsuming()),
    },
    () => draining,
    metricsRegistry,
    () => stall.stalled(),
  );

  return {
    async start() {
      admin = await listen(adminApp.callback(), {
        host: config.HOST,
        port: config.WORKER_ADMIN_PORT,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: config.HTTP_KEEPALIVE_TIMEOUT_MS,
      });
      // Open a pooled connection now, so the first task does not pay for it.
      await db.raw('SELECT 1').catch((err: unknown) => logger.warn({ err }, 'database not reachable yet; claims will retry'));
      // In plain-Job mode the migration may still run: consume only once the schema is current
      // (/ready says the same meanwhile). Nothing is in flight yet, so a SIGTERM here just ends the process.
      await waitForSchema(db, requiredSchemaVersion(), {
        onWait: ({ state, error, delayMs }) =>
          logger.info({ schema: state, err: error?.message }, `schema not current yet (the migration Job may still run); consumption held, next check in ${delayMs} ms`),
      });
      await consumer.start();
      await broker.start();
      cancels.start();
      recovery.start();
      logger.info({ types, concurrency: config.WORKER_CONCURRENCY, prefetch, admin_port: admin.port }, 'worker started');
      return { adminPort: admin.port };
    },
    stop: once(async (signal: string = 'stop') => {
      draining = true;
      logger.info(
        { signal, in_flight: consumer.inFlight(), timeout_ms: config.DRAIN_TIMEOUT_MS },
        'signal received; stopping consumption and draining in-flight tasks',
      );
      await consumer.stop(config.DRAIN_TIMEOUT_MS);
      leases.stop();
      stall.stop();
      await Promise.all([recovery.stop(), cancels.stop()]);
      await broker.stop();
      await admin?.close(1_000);
      await db.destroy();
    }),
  };
}
