/**
 * Shared by the scheduling benchmarks (issue 17): API keys per client, authenticated submits in
 * batches of 1,000, the figures read back from the task rows (one clock: PostgreSQL's), and the
 * most tasks a client had running at once.
 */
import { randomUUID } from 'node:crypto';
import { generateApiKey } from '../services/core/auth/api-key';
import type { BenchEnv } from './infra';
import { percentile } from './percentile';

/** Inserts one API key per client as the keys CLI does (only the hash is stored); returns client → key. */
export async function createClientKeys(env: BenchEnv, clients: readonly string[]): Promise<Record<string, string>> {
  const keys: Record<string, string> = {};
  for (const client of clients) {
    const k = generateApiKey();
    await env.db.query(`INSERT INTO api_keys (id, client_id, prefix, key_hash, admin) VALUES ($1, $2, $3, $4, false)`, [randomUUID(), client, k.prefix, k.hash]);
    keys[client] = k.plain;
  }
  return keys;
}

/** The services' environment for these runs: every request carries a client's key. */
export function schedulingEnv(env: BenchEnv, extra: Record<string, string> = {}): Record<string, string> {
  return { ...env.serviceEnv, AUTH_MODE: 'required', AUTH_KEY_CACHE_MS: '60000', ...extra };
}

async function post(url: string, key: string, body: unknown): Promise<unknown> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 202) throw new Error(`POST ${new URL(url).pathname} answered ${r.status}: ${(await r.text()).slice(0, 500)}`);
  return r.json();
}

/** One task; returns its id. */
export async function submitOne(apiUrl: string, key: string, task: Record<string, unknown>): Promise<string> {
  return ((await post(`${apiUrl}/tasks`, key, { type: 'simulate', ...task })) as { task_id: string }).task_id;
}

export interface Submitted {
  ids: string[];
  seconds: number;
}

/**
 * `n` tasks through `POST /tasks/batch`, 1,000 per request, `concurrency` requests in flight;
 * `item(i)` gives task i's fields besides its type.
 */
export async function submitBatches(apiUrl: string, key: string, n: number, item: (i: number) => Record<string, unknown>, concurrency = 4): Promise<Submitted> {
  const ids: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const from = next;
        next = Math.min(n, next + 1_000);
        const tasks = Array.from({ length: next - from }, (_, j) => ({ type: 'simulate', ...item(from + j) }));
        const r = (await post(`${apiUrl}/tasks/batch`, key, { tasks })) as { tasks: { task_id: string }[] };
        for (const t of r.tasks) ids.push(t.task_id);
      }
    }),
  );
  return { ids, seconds: (performance.now() - started) / 1000 };
}

export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** p50 / p99 (nearest rank) and max of a list of milliseconds. */
export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

/** `later − earlier` in milliseconds, as SQL over two timestamptz columns. */
export const msBetween = (later: string, earlier: string) => `(extract(epoch FROM (${later} - ${earlier})) * 1000)::float8`;

export interface Interval {
  started: number;
  finished: number;
}

/** Most intervals open at one instant (a finish at the same instant as a start closes first). */
export function maxOverlap(intervals: readonly Interval[]): number {
  const events = intervals.flatMap((i): [number, number][] => [
    [i.started, 1],
    [i.finished, -1],
  ]);
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (open += d));
  return max;
}

export const count = async (env: BenchEnv, where: string, args: unknown[] = []): Promise<number> =>
  Number((await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE ${where}`, args)).rows[0]?.n ?? 0);

/** Polls `fn` every `everyMs` until it is true or `timeoutMs` passes; returns whether it became true. */
export async function pollUntil(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
