/** Turns the runner's events into the worker's task metrics (outcomes, latencies, in flight). */
import { traceExemplar } from '../../core/metrics/registry';
import type { RunnerObserver, RunOutcome } from '../execution/runner-events';
import type { WorkerMetrics } from './worker-metrics';

/** Attempt outcomes that are counted under their own name in tasker_tasks_finished_total. */
const COUNTED: Partial<Record<RunOutcome, string>> = { done: 'done', retried: 'retried', failed: 'failed', timeout: 'timeout', cancelled: 'cancelled' };

export function attemptMetrics(m: WorkerMetrics): RunnerObserver {
  return {
    attemptStarted(task) {
      m.inFlight.inc({ type: task.type });
      m.queueWaitSeconds.observe({
        labels: { type: task.type },
        value: Math.max(0, task.updatedAt.getTime() - task.runAfter.getTime()) / 1000,
        exemplarLabels: traceExemplar(),
      });
    },
    attemptEnded(task, end) {
      const type = task.type;
      const exemplar = traceExemplar();
      m.inFlight.dec({ type });
      const label = end.reason === 'timeout' && end.outcome === 'retried' ? 'timeout' : COUNTED[end.outcome];
      if (label) m.finished.inc({ type, outcome: label });
      if (end.terminal && (end.outcome === 'failed' || end.outcome === 'timeout')) m.finished.inc({ type, outcome: 'dead_lettered' });
      m.runSeconds.observe({ labels: { type }, value: end.seconds, exemplarLabels: exemplar });
      if (end.terminal) {
        m.endToEndSeconds.observe({ labels: { type }, value: (Date.now() - task.createdAt.getTime()) / 1000, exemplarLabels: exemplar });
      }
    },
  };
}
