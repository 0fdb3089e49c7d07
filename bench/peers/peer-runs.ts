/**
 * Runs each peer on the workload Tasker gets in the same run: no-op jobs, first as fast as 50
 * concurrent submitters can (end to end: first submit → last job finished), then 500/s offered
 * (submit → start latency). The naive service is driven over HTTP by the very load generators
 * Tasker's API gets (autocannon, `paced`), including the 50-connection ingest point.
 */
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { BENCH } from '../config';
import { purgeQueue, type BenchEnv } from '../infra';
import { cannon, paced, type LoadResult } from '../load';
import { ask, forkPeer, freePort, sleep, type Service } from '../processes';
import { CpuMeter } from '../proc-stats';
import { taskStats, waitTerminal } from '../task-stats';
import { p50p99 } from '../percentile';
import { closedLoop, openLoop, type Submitted } from './drive';
import { LIBRARY_PEERS } from './library-peers';
import { NAIVE_TABLE } from './naive-service';
import type { LibraryPeer, WorkerReport } from './peer';

export interface PeerPhase {
  submitted: number;
  done: number;
  /** Jobs finished per second, first submit → last finished. */
  tasksPerSec: number;
  submitToStartMs: { p50: number; p99: number };
  /** How long a submit took for the caller (library call or HTTP request). */
  submitLatencyMs: { p50: number; p99: number };
  settled: boolean;
  /** CPU seconds per 1,000 finished jobs, per process of the peer (its worker; the naive API too). */
  cpuPer1000: Record<string, number>;
  cores: Record<string, number>;
}

export interface PeerRun {
  name: string;
  version: string;
  settings: string;
  skipped?: string;
  fast?: PeerPhase;
  paced?: PeerPhase;
  /** The naive service only: the ingest point Tasker's `ingest-50` is compared with. */
  ingest?: { reqPerSec: number; latencyMs: { p50: number; p99: number }; non2xx: number; errors: number; apiCpuMsPerReq: number };
}

function perThousand(cpu: Record<string, number>, done: number, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, done > 0 ? ((cpu[k] ?? 0) / done) * 1000 : 0]));
}

/** Waits until the worker reports `expected` jobs, the cap passes, or its count stalls for 3 s. */
async function settle(w: Service, expected: number, capSeconds: number): Promise<WorkerReport> {
  const deadline = performance.now() + capSeconds * 1000;
  let last = -1;
  let movedAt = performance.now();
  for (;;) {
    const r = await ask<WorkerReport>(w, 'stats', 'stats');
    if (r.done !== last) movedAt = performance.now();
    last = r.done;
    if (r.done >= expected || performance.now() > deadline || performance.now() - movedAt > 3_000) return r;
    await sleep(200);
  }
}

async function libraryPhase(w: Service, run: () => Promise<Submitted>): Promise<PeerPhase> {
  await ask(w, 'reset', 'reset');
  const meter = new CpuMeter({ worker: w.pid, bench: process.pid });
  const s = await run();
  const r = await settle(w, s.submitted, BENCH.peerSettleCapSeconds);
  const cpu = meter.stop();
  const span = (r.lastDoneAt - s.firstAt) / 1000;
  return {
    submitted: s.submitted,
    done: r.done,
    tasksPerSec: span > 0 ? r.done / span : 0,
    submitToStartMs: p50p99(r.startLatenciesMs),
    submitLatencyMs: s.latencyMs,
    settled: r.done >= s.submitted,
    cpuPer1000: perThousand(cpu.cpuSeconds, r.done, ['worker']),
    cores: cpu.cores,
  };
}

export async function libraryPeerRun(env: BenchEnv, peer: LibraryPeer): Promise<PeerRun> {
  const base = { name: peer.name, version: peer.version, settings: peer.settings };
  const ctx = { queue: `bench_${randomBytes(4).toString('hex')}`, databaseUrl: env.databaseUrl, redisUrl: BENCH.redisUrl };
  const why = await peer.unavailable(ctx);
  if (why) return { ...base, skipped: why };
  await peer.setup(ctx);
  const producer = await peer.producer(ctx);
  let w: Service | null = null;
  try {
    w = await forkPeer(`${peer.name}-worker`, 'peers/peer-worker.js', [peer.name, ctx.queue], {
      BENCH_PEER_DATABASE_URL: ctx.databaseUrl,
      BENCH_REDIS_URL: ctx.redisUrl,
    });
    const worker = w;
    // Warm-up (JIT, connections, the library's first scripts), as Tasker gets.
    await libraryPhase(worker, () => closedLoop(producer, BENCH.e2eConnections, 1000, 5));
    const fast = await libraryPhase(worker, () => closedLoop(producer, BENCH.e2eConnections, BENCH.e2eTasks, BENCH.e2eSubmitCapSeconds));
    const steady = await libraryPhase(worker, () => openLoop(producer, BENCH.pacedRate, BENCH.pacedSeconds));
    return { ...base, fast, paced: steady };
  } finally {
    await producer.close().catch(() => undefined);
    if (w) {
      w.child.send({ cmd: 'stop' });
      await w.stop('SIGTERM', 10_000);
    }
    await peer.teardown(ctx).catch(() => undefined);
  }
}

/** Koa + pg + amqplib written the obvious way (naive-service.ts), on the same load generators as Tasker. */
export async function naiveRun(env: BenchEnv): Promise<PeerRun> {
  const base = {
    name: 'naive Koa + pg + amqplib',
    version: 'bench/peers/naive-service.ts',
    settings: 'one autocommit INSERT and one confirmed persistent publish per request (quorum queue), 202 after the confirm; pg pool 10; one consumer, prefetch 100, UPDATE started, UPDATE done, ack',
  };
  const queue = `${env.prefix}.bench-naive`;
  await env.db.query(NAIVE_TABLE);
  const c = await amqp.connect(BENCH.rabbitmqUrl);
  try {
    const ch = await c.createChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.close();
  } finally {
    await c.close();
  }
  const port = await freePort();
  const svcEnv = { DATABASE_URL: env.databaseUrl, RABBITMQ_URL: BENCH.rabbitmqUrl, NAIVE_QUEUE: queue, PORT: String(port) };
  const services: Service[] = [];
  // Between phases: the naive queue too (env.reset purges Tasker's queue only). Messages left by
  // the ingest point (no consumer ran) would otherwise stand in front of the next phase's.
  const reset = async () => {
    await env.db.query('TRUNCATE naive_tasks');
    await purgeQueue(queue);
    await env.reset();
  };
  try {
    const apiSvc = await forkPeer('naive-api', 'peers/naive-service.js', ['api'], svcEnv);
    services.push(apiSvc);
    const url = `http://127.0.0.1:${port}`;
    // Ingest alone (no consumer), as Tasker's ingest-50 point runs without workers.
    await cannon({ url: `${url}/tasks`, connections: 50, seconds: 2 });
    await reset();
    const meter = new CpuMeter({ api: apiSvc.pid });
    const ing = await cannon({ url: `${url}/tasks`, connections: 50, seconds: BENCH.loadSeconds });
    const icpu = meter.stop();
    await reset();
    const consumer = await forkPeer('naive-consumer', 'peers/naive-service.js', ['consumer'], svcEnv);
    services.push(consumer);
    const pids = { api: apiSvc.pid, consumer: consumer.pid, bench: process.pid };
    const fast = await naivePhase(env, pids, () => cannon({ url: `${url}/tasks`, connections: BENCH.e2eConnections, amount: BENCH.e2eTasks, capSeconds: BENCH.e2eSubmitCapSeconds }));
    await reset();
    const steady = await naivePhase(env, pids, () => paced(url, BENCH.pacedRate, BENCH.pacedSeconds));
    return {
      ...base,
      fast,
      paced: steady,
      ingest: {
        reqPerSec: ing.reqPerSec,
        latencyMs: { p50: ing.latencyMs.p50, p99: ing.latencyMs.p99 },
        non2xx: ing.non2xx,
        errors: ing.errors,
        apiCpuMsPerReq: ((icpu.cpuSeconds.api ?? 0) / Math.max(1, ing.requests)) * 1000,
      },
    };
  } finally {
    await Promise.all(services.map((s) => s.stop('SIGTERM', 5_000)));
    await env.db.query('DROP TABLE IF EXISTS naive_tasks').catch(() => undefined);
  }
}

async function naivePhase(env: BenchEnv, pids: Record<string, number>, load: () => Promise<LoadResult>): Promise<PeerPhase> {
  const meter = new CpuMeter(pids);
  const r = await load();
  const terminal = await waitTerminal(env, r.ok2xx, BENCH.peerSettleCapSeconds, 3, 250, 'naive_tasks');
  const cpu = meter.stop();
  const st = await taskStats(env, 'naive_tasks');
  return {
    submitted: r.ok2xx,
    done: st.done,
    tasksPerSec: st.spanSeconds > 0 ? st.done / st.spanSeconds : 0,
    submitToStartMs: { p50: st.submitToStartMs.p50, p99: st.submitToStartMs.p99 },
    submitLatencyMs: { p50: r.latencyMs.p50, p99: r.latencyMs.p99 },
    settled: terminal >= r.ok2xx,
    cpuPer1000: perThousand(cpu.cpuSeconds, st.done, ['api', 'consumer']),
    cores: cpu.cores,
  };
}

export { LIBRARY_PEERS };
