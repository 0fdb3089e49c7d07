/**
 * Reliability under load: 1 API + 1 worker with a short lease; tasks submitted at a steady rate;
 * the worker is SIGKILLed once mid-run (with tasks in flight) and a new one is started at once.
 * After recovery every accepted task must be terminal: lost = accepted − terminal = 0.
 */
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { paced } from './load';
import { startApi, startWorker, type Service } from './processes';
import { taskStats, waitTerminal, type TaskStats } from './task-stats';

export interface ReliabilityRun {
  leaseMs: number;
  accepted: number;
  /** Accepted task ids that have a row. */
  acceptedWithRow: number;
  terminal: number;
  lost: number;
  killedAtSeconds: number;
  inFlightAtKill: number;
  recoverySeconds: number;
  stats: TaskStats;
}

export async function reliability(env: BenchEnv): Promise<ReliabilityRun> {
  await env.reset();
  const leaseMs = BENCH.reliabilityLeaseMs;
  const serviceEnv = {
    ...env.serviceEnv,
    LEASE_MS: String(leaseMs),
    HEARTBEAT_MS: String(Math.floor(leaseMs / 3)),
    REAP_INTERVAL_MS: '500',
    SWEEP_INTERVAL_MS: '500',
  };
  const api = await startApi(serviceEnv);
  let worker: Service = await startWorker(serviceEnv, 'worker-1');
  const killAtMs = (BENCH.reliabilitySeconds * 1000) / 2;
  const kill: { done: Promise<void> | null } = { done: null };
  let inFlightAtKill = 0;
  let killedAtSeconds = 0;
  try {
    const r = await paced(api.url, BENCH.reliabilityRate, BENCH.reliabilitySeconds, (elapsed) => {
      if (kill.done || elapsed < killAtMs) return;
      killedAtSeconds = elapsed / 1000;
      const victim = worker;
      kill.done = (async () => {
        const q = await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing'`);
        inFlightAtKill = Number(q.rows[0]?.n ?? 0);
        victim.child.kill('SIGKILL');
        await victim.exited;
        worker = await startWorker(serviceEnv, 'worker-2');
      })();
    });
    if (kill.done) await kill.done;
    const t0 = performance.now();
    // The stall window covers a lease expiry, the reaper and the sweeper's republish.
    const terminal = await waitTerminal(env, r.ok2xx, BENCH.settleCapSeconds, (leaseMs * 3) / 1000);
    const recoverySeconds = (performance.now() - t0) / 1000;
    const found = await env.db.query<{ n: string; t: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE status IN ('done', 'failed', 'cancelled')) AS t FROM tasks WHERE id = ANY($1::uuid[])`,
      [r.acceptedIds],
    );
    const acceptedTerminal = Number(found.rows[0]?.t ?? 0);
    return {
      leaseMs,
      accepted: r.ok2xx,
      acceptedWithRow: Number(found.rows[0]?.n ?? 0),
      terminal: Math.min(terminal, acceptedTerminal),
      lost: r.ok2xx - acceptedTerminal,
      killedAtSeconds,
      inFlightAtKill,
      recoverySeconds,
      stats: await taskStats(env),
    };
  } finally {
    await Promise.all([api.svc.stop(), worker.stop()]);
  }
}
