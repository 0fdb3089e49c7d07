/**
 * Batch submit (issue 16): accepted tasks/s over HTTP with POST /tasks/batch in batches of 100
 * and 1,000 against one API process (no worker: the API alone), every accepted task checked to
 * have its committed row. Beside BullMQ's in-memory addBulk on this machine (~31,000 jobs/s):
 * the goal is at least half of it, with every task durable.
 */
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { startApi } from './processes';
import { CpuMeter } from './proc-stats';

export interface BatchRun {
  batchSize: number;
  concurrency: number;
  seconds: number;
  requests: number;
  accepted: number;
  tasksPerSec: number;
  failedRequests: number;
  durable: boolean;
  cores: Record<string, number>;
}

export async function batchRun(env: BenchEnv, batchSize: number, concurrency = 4, seconds = Math.max(3, BENCH.loadSeconds)): Promise<BatchRun> {
  await env.reset();
  const api = await startApi({ ...env.serviceEnv, BATCH_MAX_TASKS: String(Math.max(1_000, batchSize)) }, `api-batch-${batchSize}`);
  const body = JSON.stringify({ tasks: Array.from({ length: batchSize }, () => ({ type: 'simulate', payload: { durationMs: 0 } })) });
  const post = () => fetch(`${api.url}/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  try {
    for (let i = 0; i < 3; i++) await (await post()).arrayBuffer(); // warm-up
    const ids: string[] = [];
    let requests = 0;
    let failedRequests = 0;
    const meter = new CpuMeter({ api: api.svc.pid, bench: process.pid });
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          const r = await post();
          requests += 1;
          if (r.status !== 202) {
            failedRequests += 1;
            await r.arrayBuffer();
            continue;
          }
          for (const t of ((await r.json()) as { tasks: { task_id: string }[] }).tasks) ids.push(t.task_id);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const usage = meter.stop();
    const found = await env.db.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE id = ANY($1::uuid[])', [ids]);
    return {
      batchSize,
      concurrency,
      seconds: elapsed,
      requests,
      accepted: ids.length,
      tasksPerSec: ids.length / elapsed,
      failedRequests,
      durable: Number(found.rows[0]?.n ?? 0) === ids.length,
      cores: usage.cores,
    };
  } finally {
    await api.svc.stop();
  }
}
