/** The API's metrics: HTTP latency by route template, submissions, replays, and queue state. */
import { metricBuilders } from '../core/metrics/metric-builders';
import type { MetricsRegistry } from '../core/metrics/registry';
import { createCommonMetrics } from '../core/metrics/registry';

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createApiMetrics(m: MetricsRegistry) {
  const { counter, gauge, histogram } = metricBuilders(m);
  return {
    ...createCommonMetrics(m),
    httpDuration: histogram(
      'tasker_http_request_duration_seconds',
      'HTTP request duration by method, route template and status class.',
      ['method', 'route', 'status_class'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    submitted: counter('tasker_tasks_submitted_total', 'Tasks accepted (202) by type.', ['type']),
    replays: counter('tasker_idempotent_replays_total', 'POST /tasks answered from an earlier request with the same Idempotency-Key.'),
    batchSize: histogram('tasker_batch_submit_tasks', 'Tasks per accepted POST /tasks/batch.', [], [1, 10, 50, 100, 250, 500, 1000, 5000]),
    webhookDeliveries: counter(
      'tasker_webhook_deliveries_total',
      'Webhook delivery attempts by outcome: delivered (2xx), retried (failed, another attempt scheduled), failed (no attempt left), refused (target not allowed).',
      ['outcome'],
    ),
    webhookDuration: histogram(
      'tasker_webhook_delivery_duration_seconds',
      'Duration of one webhook delivery attempt, by outcome.',
      ['outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    scheduleTicks: counter(
      'tasker_schedule_ticks_total',
      'Schedule ticks handled, by result: created (a task), skipped_overlap (the previous task still pending or processing), skipped_missed (missed during downtime), skipped_unknown_type (the task type is no longer installed).',
      ['result'],
    ),
    scheduleLag: histogram(
      'tasker_schedule_tick_lag_seconds',
      'How long after its tick a scheduled task was created.',
      [],
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    ),
    waiters: gauge('tasker_result_waiters', 'Requests in this API process waiting for a task to become terminal (?wait=).'),
    waits: counter(
      'tasker_result_waits_total',
      'Ended waits for a task result, by outcome: terminal (answered by the completion), timeout, aborted (client went away), released (drain).',
      ['outcome'],
    ),
    queueReady: gauge('tasker_queue_messages_ready', 'Messages ready for delivery, per queue.', ['queue']),
    queueUnacked: gauge(
      'tasker_queue_messages_unacknowledged',
      'Messages delivered and not yet acknowledged, per queue (needs RABBITMQ_MANAGEMENT_URL).',
      ['queue'],
    ),
    queueConsumers: gauge('tasker_queue_consumers', 'Consumers subscribed, per queue.', ['queue']),
    backlog: gauge(
      'tasker_backlog_tasks',
      'Tasks not yet terminal, by type and status (pending includes those scheduled for later).',
      ['type', 'status'],
    ),
    dueByPriority: gauge('tasker_due_tasks', 'Pending tasks that are due (waiting for a worker), by type and priority.', ['type', 'priority']),
    dueByClient: gauge(
      'tasker_client_due_tasks',
      'Pending tasks that are due, by type and owning client (one series per client with due work: as many as API keys).',
      ['type', 'client'],
    ),
    delayed: gauge('tasker_delayed_tasks', 'Pending tasks whose due time (run_at, delay_ms, a retry backoff) is still ahead, by type.', ['type']),
    oldestDueAge: gauge('tasker_oldest_due_task_age_seconds', 'Age of the oldest pending task that is due (0 when none), by type.', ['type']),
    scalingWork: gauge(
      'tasker_scaling_work_tasks',
      'The autoscaling signal per queue: due pending + running tasks of its types (the query of KEDA\'s postgresql trigger; HPA mode reads this gauge).',
      ['queue'],
    ),
  };
}
