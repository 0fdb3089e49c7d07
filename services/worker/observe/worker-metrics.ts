/** The worker's metrics: outcomes, wait/run/end-to-end latency, in-flight, recovery activity. */
import type { MetricsRegistry } from '../../core/metrics/registry';
import { client, createCommonMetrics } from '../../core/metrics/registry';

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createWorkerMetrics(m: MetricsRegistry) {
  const registers = [m.registry];
  /** Latency by task type, with trace-id exemplars. */
  const latency = (name: string, help: string) =>
    new client.Histogram({ name, help, labelNames: ['type'] as const, buckets: LATENCY_BUCKETS, enableExemplars: true, registers });
  return {
    ...createCommonMetrics(m),
    finished: new client.Counter({
      name: 'tasker_tasks_finished_total',
      help:
        'Attempt outcomes by type: done, retried, timeout, failed, cancelled; dead_lettered counts tasks that ended failed (any reason).',
      labelNames: ['type', 'outcome'] as const,
      registers,
    }),
    runSeconds: latency('tasker_task_run_seconds', 'Handler run time of one attempt, by type.'),
    queueWaitSeconds: latency('tasker_task_queue_wait_seconds', 'Time from a task becoming due (created or retry time) to a worker starting it, by type.'),
    endToEndSeconds: latency('tasker_task_end_to_end_seconds', 'Time from submission to a terminal state reached in this worker, by type.'),
    inFlight: new client.Gauge({
      name: 'tasker_tasks_in_flight',
      help: 'Tasks claimed and running in this worker, by type.',
      labelNames: ['type'] as const,
      registers,
    }),
    sweeperRepublished: new client.Counter({
      name: 'tasker_sweeper_republished_total',
      help: 'Tasks published by the outbox sweeper, by reason: retry (a retry or recovered lease became due), unconfirmed (a new task whose publish was never confirmed), stale (pending long after its publish).',
      labelNames: ['reason'] as const,
      registers,
    }),
    leaseTakeovers: new client.Counter({
      name: 'tasker_lease_takeovers_total',
      help: 'Expired leases recovered by the reaper (the worker holding them stopped heartbeating), by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
