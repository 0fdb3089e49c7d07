/** The shipped dashboard and alert rules only use metrics that the API and worker export. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createApiMetrics } from '../../services/api/metrics';
import { createMetricsRegistry } from '../../services/core/metrics/registry';
import { createWorkerMetrics } from '../../services/worker/observe/worker-metrics';

const FILES = path.resolve(__dirname, '../../../charts/tasker/files');

function exportedSeries(): Set<string> {
  const names = new Set<string>();
  for (const make of [createApiMetrics, createWorkerMetrics]) {
    const reg = createMetricsRegistry();
    make(reg);
    for (const m of reg.registry.getMetricsAsArray()) {
      const { name, type } = m as unknown as { name: string; type: string };
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name + s);
    }
  }
  return names;
}

describe('dashboard and alert rules', () => {
  const known = exportedSeries();
  for (const file of ['dashboards/tasker.json', 'alert-rules.yaml']) {
    it(`${file} references only exported tasker_ series`, () => {
      const text = fs.readFileSync(path.join(FILES, file), 'utf8');
      const used = new Set(text.match(/\btasker_[a-z0-9_]+/g) ?? []);
      assert.ok(used.size > 5, 'the file uses Tasker metrics');
      const unknown = [...used].filter((u) => !known.has(u));
      assert.deepEqual(unknown, []);
    });
  }

  it('the dashboard covers throughput, outcomes, latency, backlog, age, in-flight and reconnects', () => {
    const text = fs.readFileSync(path.join(FILES, 'dashboards/tasker.json'), 'utf8');
    for (const m of [
      'tasker_tasks_submitted_total',
      'tasker_tasks_finished_total',
      'tasker_task_queue_wait_seconds_bucket',
      'tasker_task_run_seconds_bucket',
      'tasker_task_end_to_end_seconds_bucket',
      'tasker_backlog_tasks',
      'tasker_oldest_due_task_age_seconds',
      'tasker_tasks_in_flight',
      'tasker_broker_reconnects_total',
    ]) {
      assert.ok(text.includes(m), m);
    }
  });
});
