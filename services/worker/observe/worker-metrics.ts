/** The worker's metrics: outcomes, wait/run/end-to-end latency, in-flight, recovery activity. */
import { metricBuilders } from '../../core/metrics/metric-builders';
import type { MetricsRegistry } from '../../core/metrics/registry';
import { createCommonMetrics } from '../../core/metrics/registry';

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export function createWorkerMetrics(m: MetricsRegistry) {
  const { counter, gauge, histogram } = metricBuilders(m);
  /** Latency by task type, with trace-id exemplars. */
  const latency = (name: string, help: string) => histogram(name, help, ['type'], LATENCY_BUCKETS, true);
  return {
    ...createCommonMetrics(m),
    finished: counter(
      'tasker_tasks_finished_total',
      'Attempt outcomes by type: done, retried, timeout, failed, cancelled; dead_lettered counts tasks that ended failed (any reason).',
      ['type', 'outcome'],
    ),
    runSeconds: latency('tasker_task_run_seconds', 'Handler run time of one attempt, by type.'),
    queueWaitSeconds: latency('tasker_task_queue_wait_seconds', 'Time from a task becoming due (created, its run_at / delay_ms due time, or retry time) to a worker starting it, by type: the start lateness.'),
    endToEndSeconds: latency('tasker_task_end_to_end_seconds', 'Time from submission to a terminal state reached in this worker, by type.'),
    inFlight: gauge('tasker_tasks_in_flight', 'Tasks claimed and running in this worker, by type.', ['type']),
    sweeperRepublished: counter(
      'tasker_sweeper_republished_total',
      'Tasks published by the outbox sweeper, by reason: retry (a retry or recovered lease became due), unconfirmed (a new task whose publish was never confirmed), stale (pending long after its publish).',
      ['reason'],
    ),
    sweeperStaleHeld: counter(
      'tasker_sweeper_stale_held_total',
      'Sweeps that held back republishing stale tasks of a queue because it still had messages ready (queue depth stays at the real backlog).',
      ['queue'],
    ),
    leaseTakeovers: counter(
      'tasker_lease_takeovers_total',
      'Expired leases recovered by the reaper (the worker holding them stopped heartbeating), by outcome.',
      ['outcome'],
    ),
  };
}
