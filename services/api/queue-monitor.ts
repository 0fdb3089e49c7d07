/**
 * Computes the queue-state gauges on an interval, in one place: backlog by type and status, the
 * oldest due task's age and the autoscaling signal (due pending + running, per queue) from PostgreSQL; ready messages and consumers per queue from RabbitMQ
 * (and unacknowledged messages from the management API when RABBITMQ_MANAGEMENT_URL is set).
 */
import type { Broker } from '../core/amqp/broker';
import type { Db } from '../core/db/database';
import type { Logger } from '../core/log/logger';
import { countScalingWork } from '../core/tasks/scaling-work';
import { readBacklog, type BacklogSnapshot } from './data-access/backlog.repository';
import type { ApiMetrics } from './metrics';

export interface QueueMonitorDeps {
  db: Db;
  broker: Broker;
  types: readonly string[];
  managementUrl?: string;
  vhost: string;
  metrics: ApiMetrics;
  logger: Logger;
}

export function createQueueMonitor(d: QueueMonitorDeps): () => Promise<void> {
  return async () => {
    const backlog = await readBacklog(d.db, d.types);
    for (const type of d.types) {
      for (const status of ['pending', 'processing'] as const) {
        d.metrics.backlog.set({ type, status }, backlog.counts.find((c) => c.type === type && c.status === status)?.n ?? 0);
      }
      d.metrics.oldestDueAge.set({ type }, backlog.oldestDueAgeSeconds.get(type) ?? 0);
    }
    publishPending(d.metrics, backlog.pending, d.types);
    // The scaling signal per queue, from the same query the KEDA trigger runs (core/tasks/scaling-work).
    for (const q of d.broker.topology.queues) d.metrics.scalingWork.set({ queue: q.name }, await countScalingWork(d.db, q.types));
    if (!d.broker.isConnected()) return;
    for (const q of d.broker.topology.queues) {
      const stats = await d.broker.withChannel((ch) => ch.checkQueue(q.name)).catch(() => null);
      if (!stats) continue;
      d.metrics.queueReady.set({ queue: q.name }, stats.messageCount);
      d.metrics.queueConsumers.set({ queue: q.name }, stats.consumerCount);
    }
    if (d.managementUrl) await readManagement(d).catch((err: unknown) => d.logger.debug({ err }, 'management API not reachable'));
  };
}

async function readManagement(d: QueueMonitorDeps): Promise<void> {
  const u = new URL(d.managementUrl!);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  const base = u.toString().replace(/\/$/, '');
  for (const q of d.broker.topology.queues) {
    const res = await fetch(`${base}/api/queues/${encodeURIComponent(d.vhost)}/${encodeURIComponent(q.name)}`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) continue;
    const j = (await res.json()) as { messages_unacknowledged?: number };
    d.metrics.queueUnacked.set({ queue: q.name }, j.messages_unacknowledged ?? 0);
  }
}

/** Due backlog by priority and by client, and delayed tasks, from one grouped read; series that emptied are reset. */
function publishPending(m: ApiMetrics, rows: BacklogSnapshot['pending'], types: readonly string[]): void {
  m.dueByPriority.reset();
  m.dueByClient.reset();
  m.delayed.reset();
  for (const type of types) m.delayed.set({ type }, 0);
  for (const r of rows) {
    if (!r.due) {
      m.delayed.inc({ type: r.type }, r.n);
      continue;
    }
    m.dueByPriority.inc({ type: r.type, priority: String(r.priority) }, r.n);
    m.dueByClient.inc({ type: r.type, client: r.client }, r.n);
  }
}
