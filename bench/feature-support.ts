/** Shared by the feature benchmarks (waiters, batch submit, webhooks): RSS, direct inserts. */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { BenchEnv } from './infra';

/** Current resident set size of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Inserts `n` pending `simulate` tasks straight into the table (not through the API: the figure
 * being measured is what happens to them after), due in a day so no sweeper publishes them.
 */
export async function insertPendingTasks(env: BenchEnv, n: number, callbackUrl?: string): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  for (let i = 0; i < n; i += 5_000) {
    const chunk = ids.slice(i, i + 5_000);
    await env.db.query(
      `INSERT INTO tasks (id, type, payload, max_attempts, timeout_ms, client_id, run_after)
       SELECT id, 'simulate', '{}'::jsonb, 1, 1000, 'anonymous', now() + interval '1 day' FROM unnest($1::uuid[]) AS id`,
      [chunk],
    );
    if (callbackUrl) await env.db.query(`INSERT INTO task_callbacks (task_id, url) SELECT id, $2 FROM unnest($1::uuid[]) AS id`, [chunk, callbackUrl]);
  }
  return ids;
}

/** The completion a worker writes (UPDATE to done); its NOTIFY is `notifyTerminal`, a separate statement as in core/tasks/state/complete.ts. */
export async function completeRows(env: BenchEnv, ids: string[]): Promise<void> {
  await env.db.query(
    `UPDATE tasks SET status = 'done', result = '{"ok":true}', finished_at = now(), updated_at = now() WHERE id = ANY($1::uuid[])`,
    [ids],
  );
}

export async function notifyTerminal(env: BenchEnv, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 200) await env.db.query(`SELECT pg_notify('tasker_terminal', $1)`, [ids.slice(i, i + 200).join(',')]);
}

export const line = (label: string, value: string, goal: string, met: boolean | null) =>
  `${label.padEnd(58)} ${value.padStart(22)}   goal ${goal}${met === null ? '' : met ? '  met' : '  NOT MET'}`;
