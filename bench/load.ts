/**
 * Load generators. Closed-loop load (N connections, each sending its next request when the last
 * answered) is autocannon. Open-loop load at a fixed offered rate is a small paced client:
 * autocannon's rate limit sends each connection's per-second quota back to back and then pauses,
 * i.e. one burst per second, which would measure queueing of the burst rather than the latency of
 * a steady 500/s stream.
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { BENCH } from './config';
import { percentile } from './percentile';

export interface LoadResult {
  connections: number;
  seconds: number;
  requests: number;
  reqPerSec: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** task_id of every 2xx answer (POST /tasks only). */
  acceptedIds: string[];
}

export interface CannonOptions {
  url: string;
  connections: number;
  /** Either a duration or a fixed number of requests. */
  seconds?: number;
  amount?: number;
  /** Stops a fixed-amount run after this many seconds even if not all requests were sent. */
  capSeconds?: number;
  collectIds?: boolean;
}

export async function cannon(o: CannonOptions): Promise<LoadResult> {
  const ids: string[] = [];
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    ...(o.amount !== undefined ? { amount: o.amount } : { duration: o.seconds ?? BENCH.loadSeconds }),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        body: BENCH.taskBody,
        headers: { 'content-type': 'application/json' },
        ...(o.collectIds
          ? {
              onResponse: (status: number, body: string) => {
                if (status >= 200 && status < 300) {
                  const id = /"task_id":"([0-9a-f-]{36})"/.exec(body)?.[1];
                  if (id) ids.push(id);
                }
              },
            }
          : {}),
      },
    ],
  });
  const cap = o.capSeconds === undefined ? null : setTimeout(() => instance.stop(), o.capSeconds * 1000);
  const r = await instance;
  if (cap) clearTimeout(cap);
  const seconds = (r.finish.getTime() - r.start.getTime()) / 1000;
  const requests = r['2xx'] + r.non2xx;
  return {
    connections: o.connections,
    seconds,
    requests,
    reqPerSec: seconds > 0 ? requests / seconds : 0,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    acceptedIds: ids,
  };
}

/** Sends POST /tasks at `rate` per second for `seconds`, evenly spaced (open loop). */
export async function paced(url: string, rate: number, seconds: number, onTick?: (elapsedMs: number) => void): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL('/tasks', url);
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const ids: string[] = [];
  let sent = 0;
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const body = Buffer.from(BENCH.taskBody);

  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: 10_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            latencies.push(performance.now() - t0);
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              ok2xx++;
              const id = /"task_id":"([0-9a-f-]{36})"/.exec(text)?.[1];
              if (id) ids.push(id);
            } else non2xx++;
            resolve();
          });
          res.on('error', () => {
            errors++;
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const start = performance.now();
  // Bounded: at most `total` requests, and the loop ends at `seconds` + 1 s whatever happens.
  while (sent < total && performance.now() - start < seconds * 1000 + 1000) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
    while (sent < due) {
      sent++;
      const p = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
    onTick?.(elapsed);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([Promise.all([...inflight]), new Promise((r) => setTimeout(r, 15_000))]);
  const wall = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    connections: 0,
    seconds: wall,
    requests: sent,
    reqPerSec: wall > 0 ? (ok2xx + non2xx) / wall : 0,
    ok2xx,
    non2xx,
    errors,
    timeouts: 0,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    acceptedIds: ids,
  };
}
