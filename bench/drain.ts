/**
 * Drain: a backlog of due no-op tasks already in the table (one multi-row INSERT) and in the queue
 * (published with confirms, as the API's publisher would), with no worker running. Then one worker
 * process drains it until half the backlog is done (or its cap), is stopped, and two fresh worker
 * processes drain the rest (or until their cap). One backlog serves both measurements, so the run
 * stays under 5 minutes; each phase starts from a backlog of at least half the tasks.
 */
import amqp from 'amqplib';
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { sleep, startWorker, type Service } from './processes';
import { CpuMeter, waitForQuiet, cpuSeconds, type CpuUsage } from './proc-stats';

export interface DrainRun {
  workers: number;
  /** Tasks in the queue when this phase started. */
  backlog: number;
  backlogBuildSeconds: number;
  done: number;
  /** This phase reached its goal (half the backlog for 1 worker, all of it for 2) before the cap. */
  complete: boolean;
  /** Tasks finished in this phase / (last finished_at − first started_at of the phase). */
  tasksPerSec: number;
  /** Tasks finished in this phase / wall time from spawning the workers to the last poll. */
  wallTasksPerSec: number;
  cpu: CpuUsage;
  cpuPer1000: Record<string, number>;
  peakRssMb: Record<string, number | null>;
}

export async function buildBacklog(env: BenchEnv, n: number): Promise<number> {
  const t0 = performance.now();
  await env.reset();
  const r = await env.db.query<{ id: string }>(
    `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, client_id, published_at)
     SELECT gen_random_uuid(), 'simulate', '{"durationMs":0}'::jsonb, 3, 60000, '', now()
       FROM generate_series(1, $1::int)
     RETURNING id`,
    [n],
  );
  await env.db.query('ANALYZE tasks');
  const conn = await amqp.connect(BENCH.rabbitmqUrl);
  try {
    const ch = await conn.createConfirmChannel();
    const ex = env.topology.exchange;
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < r.rows.length; i += BENCH.publishWindow) {
      for (const row of r.rows.slice(i, i + BENCH.publishWindow)) {
        ch.publish(ex, 'simulate', Buffer.from(JSON.stringify({ task_id: row.id, type: 'simulate' })), {
          persistent: true,
          mandatory: true,
          messageId: row.id,
          type: 'simulate',
          contentType: 'application/json',
          timestamp: now,
          headers: {},
        });
      }
      await ch.waitForConfirms();
    }
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
  return (performance.now() - t0) / 1000;
}

async function countDone(env: BenchEnv): Promise<number> {
  const r = await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE status = 'done'`);
  return Number(r.rows[0]?.n ?? 0);
}

/** Runs `workers` fresh worker processes until `goal` tasks are done in total or the cap passes. */
async function phase(env: BenchEnv, workers: number, goal: number, backlog: number, buildSeconds: number): Promise<DrainRun> {
  await waitForQuiet(10_000); // the broker is still writing the backlog's messages to its log
  const doneBefore = await countDone(env);
  const since = (await env.db.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]?.t ?? new Date();
  const ws: Service[] = [];
  const t0 = performance.now();
  const meter = new CpuMeter({ bench: process.pid });
  try {
    // Spawned together, so neither worker gets a head start.
    ws.push(...(await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(env.serviceEnv, `worker-${i + 1}`)))));
    const deadline = t0 + BENCH.drainCapSeconds * 1000;
    let done = doneBefore;
    while (performance.now() < deadline) {
      done = await countDone(env);
      if (done >= goal) break;
      await sleep(250);
    }
    const wall = (performance.now() - t0) / 1000;
    const peakRssMb: Record<string, number | null> = {};
    for (const w of ws) peakRssMb[w.name] = w.peakRssMb();
    const cpu = meter.stop();
    // The workers were born after the meter started: all their CPU so far belongs to this phase.
    const cpuPer1000: Record<string, number> = {};
    for (const w of ws) {
      const c = cpuSeconds(w.pid);
      if (c !== null) {
        cpu.cpuSeconds[w.name] = c;
        cpu.cores[w.name] = c / cpu.wallSeconds;
      }
    }
    const ours = Object.entries(cpu.cores).reduce((s, [k, v]) => (k === 'machine' || k === 'other' ? s : s + v), 0);
    cpu.cores.other = Math.max(0, (cpu.cores.machine ?? 0) - ours);
    const w = await env.db.query<{ n: string; secs: number | null }>(
      `SELECT count(*) AS n, extract(epoch FROM max(finished_at) - min(started_at))::float8 AS secs
         FROM tasks WHERE status = 'done' AND started_at >= $1`,
      [since],
    );
    // Tasks claimed before the phase but finished in it are few (in flight at the switch); counted by time.
    const finished = Math.max(0, done - doneBefore);
    const secs = w.rows[0]?.secs ?? 0;
    for (const x of ws) cpuPer1000[x.name] = finished > 0 ? ((cpu.cpuSeconds[x.name] ?? 0) / finished) * 1000 : 0;
    return {
      workers,
      backlog,
      backlogBuildSeconds: buildSeconds,
      done: finished,
      complete: done >= goal,
      tasksPerSec: secs > 0 ? Number(w.rows[0]?.n ?? 0) / secs : 0,
      wallTasksPerSec: finished / wall,
      cpu,
      cpuPer1000,
      peakRssMb,
    };
  } finally {
    await Promise.all(ws.map((x) => x.stop()));
  }
}

/** 1 worker until half the backlog is done (or the cap), then 2 fresh workers on the rest. */
export async function drain(env: BenchEnv): Promise<DrainRun[]> {
  const n = BENCH.drainTasks;
  const buildSeconds = await buildBacklog(env, n);
  const one = await phase(env, 1, Math.ceil(n / 2), n, buildSeconds);
  const remaining = n - (await countDone(env));
  const two = await phase(env, 2, n, remaining, 0);
  return [one, two];
}
