/**
 * Waiters (issue 16): 10,000 concurrent GET /tasks/:id?wait=60 on one API process — memory per
 * 1,000 waiters (RSS growth while they wait) — then completions at 500/s and the time from each
 * completion's commit to its waiting client's answer (goal p99 ≤ 10 ms). Tasks are completed by SQL
 * as a worker does (UPDATE, then the terminal NOTIFY), so the figure is the API's wait path alone.
 */
import http from 'node:http';
import type { BenchEnv } from './infra';
import { percentile } from './percentile';
import { completeRows, insertPendingTasks, notifyTerminal, rssMb } from './feature-support';
import { sleep, startApi } from './processes';

export interface WaitersRun {
  waiters: number;
  registered: number;
  rssBeforeMb: number;
  rssWaitingMb: number;
  mbPer1000: number;
  /** V8 heap in use (after the process's own GC) per 1,000 waiters: the part the waiters themselves hold. */
  heapMbPer1000: number;
  completions: number;
  answered: number;
  ratePerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export async function waitersRun(env: BenchEnv, waiters = 10_000, completions = 5_000, rate = 500): Promise<WaitersRun> {
  await env.reset();
  const ids = await insertPendingTasks(env, waiters);
  const api = await startApi({ ...env.serviceEnv, WAIT_MAX_SECONDS: '120' }, 'api-waiters');
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const answeredAt = new Map<string, number>();
  const requests: http.ClientRequest[] = [];
  try {
    // Warm the process (JIT, pools) so the RSS baseline is not start-up memory.
    for (let i = 0; i < 200; i++) await fetch(`${api.url}/tasks/${ids[i]}`).then((r) => r.arrayBuffer());
    await sleep(1_000);
    const rssBeforeMb = rssMb(api.svc.pid);
    const heapBefore = await gauge(api.url, 'tasker_nodejs_heap_size_used_bytes');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const req = http.get(`${api.url}/tasks/${id}?wait=120`, { agent }, (res) => {
        res.resume();
        res.on('end', () => answeredAt.set(id, performance.now()));
      });
      req.on('error', () => undefined);
      requests.push(req);
      if (i % 500 === 499) await sleep(50); // the listen backlog takes bursts of a few hundred
    }
    const registered = await until(async () => {
      const n = await gauge(api.url, 'tasker_result_waiters');
      return n >= waiters ? n : null;
    }, 60_000).catch(() => 0);
    await sleep(2_000);
    const rssWaitingMb = rssMb(api.svc.pid);
    const heapWaiting = await gauge(api.url, 'tasker_nodejs_heap_size_used_bytes');

    // Completions at `rate`/s, one per tick, from a few connections; t0 = the commit returned.
    const committedAt = new Map<string, number>();
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < completions; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = ids[i]!;
      inFlight.push(
        completeRows(env, [id]).then(() => {
          committedAt.set(id, performance.now());
          return notifyTerminal(env, [id]);
        }),
      );
    }
    await Promise.all(inFlight);
    const ratePerSec = completions / ((performance.now() - started) / 1000);
    await until(() => Promise.resolve(answeredAt.size >= completions || null), 15_000).catch(() => null);
    const lat = [...committedAt].flatMap(([id, t0]) => (answeredAt.has(id) ? [answeredAt.get(id)! - t0] : [])).sort((a, b) => a - b);
    return {
      waiters,
      registered,
      rssBeforeMb,
      rssWaitingMb,
      mbPer1000: ((rssWaitingMb - rssBeforeMb) / waiters) * 1000,
      heapMbPer1000: ((heapWaiting - heapBefore) / 2 ** 20 / waiters) * 1000,
      completions,
      answered: lat.length,
      ratePerSec,
      latencyMs: { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? NaN },
    };
  } finally {
    for (const r of requests) r.destroy();
    agent.destroy();
    await api.svc.stop();
  }
}

async function gauge(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function until<T>(fn: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(200);
  }
}
