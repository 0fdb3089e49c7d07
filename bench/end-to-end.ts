/**
 * End to end: one API and N worker processes (fresh processes per N). First a fixed number of
 * no-op tasks submitted as fast as autocannon can (closed loop, 50 connections), then a steady
 * offered rate (open loop). Throughput and latencies come from the task rows; CPU per 1,000 tasks
 * and peak RSS from /proc.
 */
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { cannon, paced, type LoadResult } from './load';
import { startApi, startWorker, type Service } from './processes';
import { CpuMeter, type CpuUsage } from './proc-stats';
import { taskStats, waitTerminal, type TaskStats } from './task-stats';
import { WriteMeter, type WriteStats } from './write-stats';

export interface E2ePhase {
  load: Omit<LoadResult, 'acceptedIds'>;
  accepted: number;
  stats: TaskStats;
  /** Completed tasks per second, first submit → last finished_at. */
  tasksPerSec: number;
  /** All accepted tasks reached a terminal state within the cap. */
  settled: boolean;
  cpu: CpuUsage;
  /** CPU seconds per 1,000 completed tasks, per process (api, worker-1, ...). */
  cpuPer1000: Record<string, number>;
  /** Row writes and WAL bytes per finished task (write-stats.ts); 1 worker only (each reading waits 11 s). */
  writes: WriteStats | null;
}

export interface E2eRun {
  workers: number;
  fast: E2ePhase;
  paced: E2ePhase;
  peakRssMb: Record<string, number | null>;
}

export async function endToEnd(env: BenchEnv, workers: number): Promise<E2eRun> {
  await env.reset();
  const api = await startApi(env.serviceEnv);
  const ws: Service[] = [];
  try {
    for (let i = 1; i <= workers; i++) ws.push(await startWorker(env.serviceEnv, `worker-${i}`));
    const pids: Record<string, number> = { api: api.svc.pid, bench: process.pid };
    for (const w of ws) pids[w.name] = w.pid;
    const url = `${api.url}/tasks`;

    // Warm-up (JIT, pools, channels), then a clean table.
    const warm = await cannon({ url, connections: BENCH.e2eConnections, amount: Math.min(1000, BENCH.e2eTasks), capSeconds: 5 });
    await waitTerminal(env, warm.ok2xx, 10, 2);
    await env.reset();

    // Write counts only with one worker: each reading waits 11 s (write-stats.ts).
    const countWrites = workers === 1;
    const fast = await phase(env, pids, countWrites, () => cannon({ url, connections: BENCH.e2eConnections, amount: BENCH.e2eTasks, capSeconds: BENCH.e2eSubmitCapSeconds }));
    await env.reset();
    const steady = await phase(env, pids, countWrites, () => paced(api.url, BENCH.pacedRate, BENCH.pacedSeconds));
    const peakRssMb: Record<string, number | null> = { api: api.svc.peakRssMb() };
    for (const w of ws) peakRssMb[w.name] = w.peakRssMb();
    return { workers, fast, paced: steady, peakRssMb };
  } finally {
    await Promise.all([api.svc.stop(), ...ws.map((w) => w.stop())]);
  }
}

async function phase(env: BenchEnv, pids: Record<string, number>, countWrites: boolean, load: () => Promise<LoadResult>): Promise<E2ePhase> {
  const writes = countWrites ? await WriteMeter.begin(env) : null;
  const meter = new CpuMeter(pids);
  const r = await load();
  const terminal = await waitTerminal(env, r.ok2xx, BENCH.settleCapSeconds);
  const cpu = meter.stop();
  const stats = await taskStats(env);
  const written = writes ? await writes.end(stats.done) : null;
  const cpuPer1000: Record<string, number> = {};
  for (const [k, v] of Object.entries(cpu.cpuSeconds)) {
    if (k === 'api' || k.startsWith('worker')) cpuPer1000[k] = stats.done > 0 ? (v / stats.done) * 1000 : 0;
  }
  const { acceptedIds: _ids, ...loadSummary } = r;
  return {
    load: loadSummary,
    accepted: r.ok2xx,
    stats,
    tasksPerSec: stats.spanSeconds > 0 ? stats.done / stats.spanSeconds : 0,
    settled: terminal >= r.ok2xx,
    cpu,
    cpuPer1000,
    writes: written,
  };
}
