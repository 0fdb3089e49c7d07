/** The API's metrics: HTTP latency by route template, submissions, replays, and queue state. */
import type { MetricsRegistry } from '../core/metrics/registry';
import { client, createCommonMetrics } from '../core/metrics/registry';

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createApiMetrics(m: MetricsRegistry) {
  const registers = [m.registry];
  return {
    ...createCommonMetrics(m),
    httpDuration: new client.Histogram({
      name: 'tasker_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status class.',
      labelNames: ['method', 'route', 'status_class'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    submitted: new client.Counter({
      name: 'tasker_tasks_submitted_total',
      help: 'Tasks accepted (202) by type.',
      labelNames: ['type'] as const,
      registers,
    }),
    replays: new client.Counter({
      name: 'tasker_idempotent_replays_total',
      help: 'POST /tasks answered from an earlier request with the same Idempotency-Key.',
      registers,
    }),
    queueReady: new client.Gauge({
      name: 'tasker_queue_messages_ready',
      help: 'Messages ready for delivery, per queue.',
      labelNames: ['queue'] as const,
      registers,
    }),
    queueUnacked: new client.Gauge({
      name: 'tasker_queue_messages_unacknowledged',
      help: 'Messages delivered and not yet acknowledged, per queue (needs RABBITMQ_MANAGEMENT_URL).',
      labelNames: ['queue'] as const,
      registers,
    }),
    queueConsumers: new client.Gauge({
      name: 'tasker_queue_consumers',
      help: 'Consumers subscribed, per queue.',
      labelNames: ['queue'] as const,
      registers,
    }),
    backlog: new client.Gauge({
      name: 'tasker_backlog_tasks',
      help: 'Tasks not yet terminal, by type and status (pending includes those scheduled for later).',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
    oldestDueAge: new client.Gauge({
      name: 'tasker_oldest_due_task_age_seconds',
      help: 'Age of the oldest pending task that is due (0 when none), by type.',
      labelNames: ['type'] as const,
      registers,
    }),
  };
}
