/**
 * Fairness under sustained load (issue 17), on one API and two workers of 8 slots each running
 * `simulate` tasks of 20 ms:
 *
 * - **weighted share**: clients a, b, c with CLIENT_WEIGHTS a=3,b=2,c=1 each store a backlog larger
 *   than the workers can run in the measured time, then the workers start and run for ~30 s. Per
 *   1-second bucket (from `started_at`), each client's share of the starts; the goal is each client's
 *   mean share within ±0.05 of its weight share (3/6, 2/6, 1/6). Equal task lengths, so a share of
 *   starts is a share of the running slots.
 * - **per-client limit**: CLIENT_MAX_RUNNING a=4 (API and workers), clients a and b with backlogs;
 *   a's most tasks running at one instant, from every row's started/finished interval (goal ≤ 4),
 *   and b's beside it (the limit must not hold others back).
 */
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { sleep, startApi, startWorker, type Service } from './processes';
import { count, maxOverlap, msBetween, submitBatches } from './scheduling-support';

const WORKERS = 2;
const SLOTS = 8;
const TASK_MS = 20;

export const SHARE_WEIGHTS: Readonly<Record<string, number>> = { a: 3, b: 2, c: 1 };

export interface ShareBucket {
  /** Seconds since the first start. */
  second: number;
  total: number;
  /** Client → share of this second's starts. */
  share: Record<string, number>;
}

export interface ShareRun {
  workers: number;
  slots: number;
  taskMs: number;
  weights: Record<string, number>;
  seconds: number;
  backlogs: Record<string, number>;
  /** Tasks of each client still pending at the end (> 0: the backlog lasted). */
  leftAtEnd: Record<string, number>;
  buckets: ShareBucket[];
  /** Mean over the full buckets (the first and the last, partial, left out). */
  meanShare: Record<string, number>;
  weightShare: Record<string, number>;
  /** Most |mean share − weight share| over the clients. */
  maxDeviation: number;
  /** Most |share − weight share| in one bucket, over clients and full buckets. */
  worstBucketDeviation: number;
  startsPerSec: number;
}

export interface LimitRun {
  limit: number;
  seconds: number;
  maxRunning: Record<string, number>;
  startsPerSec: Record<string, number>;
  /** a's ideal pace at its limit: limit × 1000 / task ms. */
  limitedIdealPerSec: number;
}

const weightsSetting = (w: Record<string, number>) =>
  Object.entries(w)
    .map(([c, n]) => `${c}=${n}`)
    .join(',');

async function startWorkers(env: Record<string, string>, label: string): Promise<Service[]> {
  const out: Service[] = [];
  for (let i = 1; i <= WORKERS; i++) out.push(await startWorker({ ...env, WORKER_CONCURRENCY: String(SLOTS) }, `worker-${label}-${i}`));
  return out;
}

export async function weightedShareRun(env: BenchEnv, clientEnv: Record<string, string>, keys: Record<string, string>): Promise<ShareRun> {
  await env.reset();
  const seconds = BENCH.schedShareSeconds;
  const weights = { ...SHARE_WEIGHTS };
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  const weightShare = Object.fromEntries(Object.entries(weights).map(([c, w]) => [c, w / sum]));
  const settings = { ...clientEnv, CLIENT_WEIGHTS: weightsSetting(weights) };
  const api = await startApi(settings, 'api-share');
  let workers: Service[] = [];
  try {
    // Half again what the slots could run in `seconds` at full pace, so no backlog runs out.
    const capacity = ((WORKERS * SLOTS * 1000) / TASK_MS) * seconds;
    const backlogs: Record<string, number> = {};
    for (const c of Object.keys(weights)) {
      backlogs[c] = (await submitBatches(api.url, keys[c]!, Math.ceil(capacity * weightShare[c]! * 1.5), () => ({ payload: { durationMs: TASK_MS } }))).ids.length;
    }
    workers = await startWorkers(settings, 'share');
    await sleep(seconds * 1000);
    await Promise.all(workers.map((w) => w.stop('SIGKILL'))); // the measured window ends here, not after a drain
    workers = [];
    const rows = await env.db.query<{ client_id: string; second: number; n: number }>(
      `WITH first AS (SELECT min(started_at) AS t FROM tasks)
       SELECT client_id, floor(${msBetween('started_at', 'first.t')} / 1000)::int AS second, count(*)::int AS n
         FROM tasks, first WHERE started_at IS NOT NULL GROUP BY 1, 2 ORDER BY 2`,
    );
    const bySecond = new Map<number, Record<string, number>>();
    for (const r of rows.rows) {
      const b = bySecond.get(r.second) ?? {};
      b[r.client_id] = r.n;
      bySecond.set(r.second, b);
    }
    const last = Math.max(0, ...bySecond.keys());
    const buckets: ShareBucket[] = [];
    for (let s = 0; s <= last; s++) {
      const b = bySecond.get(s) ?? {};
      const total = Object.values(b).reduce((x, y) => x + y, 0);
      buckets.push({ second: s, total, share: Object.fromEntries(Object.keys(weights).map((c) => [c, total ? (b[c] ?? 0) / total : 0])) });
    }
    const full = buckets.filter((b) => b.second > 0 && b.second < last && b.total > 0);
    const meanShare = Object.fromEntries(Object.keys(weights).map((c) => [c, full.reduce((x, b) => x + b.share[c]!, 0) / Math.max(1, full.length)]));
    const leftAtEnd: Record<string, number> = {};
    for (const c of Object.keys(weights)) leftAtEnd[c] = await count(env, `client_id = $1 AND status = 'pending'`, [c]);
    const started = buckets.reduce((x, b) => x + b.total, 0);
    return {
      workers: WORKERS,
      slots: SLOTS,
      taskMs: TASK_MS,
      weights,
      seconds,
      backlogs,
      leftAtEnd,
      buckets,
      meanShare,
      weightShare,
      maxDeviation: Math.max(...Object.keys(weights).map((c) => Math.abs(meanShare[c]! - weightShare[c]!))),
      worstBucketDeviation: Math.max(0, ...full.flatMap((b) => Object.keys(weights).map((c) => Math.abs(b.share[c]! - weightShare[c]!)))),
      startsPerSec: started / Math.max(1, last + 1),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await api.svc.stop();
  }
}

export async function clientLimitRun(env: BenchEnv, clientEnv: Record<string, string>, keys: Record<string, string>, limit = 4): Promise<LimitRun> {
  await env.reset();
  const seconds = Math.max(4, Math.round(BENCH.schedShareSeconds / 3));
  const settings = { ...clientEnv, CLIENT_MAX_RUNNING: `a=${limit}` };
  const api = await startApi(settings, 'api-limit');
  let workers: Service[] = [];
  try {
    const perClient = Math.ceil(((WORKERS * SLOTS * 1000) / TASK_MS) * seconds);
    for (const c of ['a', 'b']) await submitBatches(api.url, keys[c]!, perClient, () => ({ payload: { durationMs: TASK_MS } }));
    workers = await startWorkers(settings, 'limit');
    await sleep(seconds * 1000);
    // SIGTERM: running tasks finish and record finished_at, so every interval is closed.
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    const r = await env.db.query<{ client_id: string; s: number; f: number | null }>(
      `SELECT client_id, (extract(epoch FROM started_at) * 1000)::float8 AS s, (extract(epoch FROM finished_at) * 1000)::float8 AS f FROM tasks WHERE started_at IS NOT NULL`,
    );
    const end = Math.max(0, ...r.rows.map((x) => x.f ?? x.s));
    const maxRunning: Record<string, number> = {};
    const startsPerSec: Record<string, number> = {};
    for (const c of ['a', 'b']) {
      const mine = r.rows.filter((x) => x.client_id === c);
      // A task still open (no finished_at) counts as running until the last recorded instant.
      maxRunning[c] = maxOverlap(mine.map((x) => ({ started: x.s, finished: x.f ?? end })));
      const span = mine.length > 1 ? (Math.max(...mine.map((x) => x.s)) - Math.min(...mine.map((x) => x.s))) / 1000 : 0;
      startsPerSec[c] = span > 0 ? mine.length / span : mine.length;
    }
    return { limit, seconds, maxRunning, startsPerSec, limitedIdealPerSec: (limit * 1000) / TASK_MS };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await api.svc.stop();
  }
}
