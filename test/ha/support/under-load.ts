/**
 * One HA scenario: a steady stream of `test.record` tasks, a fault injected part-way, then the
 * figures. What each figure means (all from the database and the processes, not from logs):
 *  - accepted / rejected: 202s, and the other answers by status (0 = no answer);
 *  - done, lost, duplicateExecutions, duplicateEffects: test/chaos's report (lost = accepted − terminal);
 *  - recoverySeconds: from the fault until the last task it delayed was done: the last `finished_at`
 *    among tasks slower from 202 to done than max(1 s, 3 × the p99 of the tasks done before the
 *    fault) — relative, so a machine slowed by other work does not count as the fault (0 = none);
 *  - maxTaskSeconds: the longest any accepted task took from its 202 to done;
 *  - acceptGapSeconds: the longest stretch in which the API accepted no task;
 *  - notReadySeconds: from the fault until every process's /ready answered 200 again (0 = never not ready);
 *  - retryAfter: the Retry-After values sent with 503s.
 */
import type { Report } from '../../chaos/support/harness';
import type { HaStack } from './ha-stack';

export const TASKS = Number(process.env.TASKER_HA_TASKS ?? 2000);
export const RATE = Number(process.env.TASKER_HA_RATE ?? 100);
/** The fault comes this long after the load starts, so it lands on tasks in every state. */
const FAULT_AFTER_MS = 6_000;

export interface Figures {
  scenario: string;
  accepted: number;
  rejected: Record<string, number>;
  done: number;
  lost: number;
  duplicateExecutions: number;
  duplicateEffects: number;
  recoverySeconds: number | null;
  maxTaskSeconds: number;
  acceptGapSeconds: number;
  notReadySeconds: number;
  retryAfter: string[];
  /** The "delayed" threshold of recoverySeconds, in seconds. */
  delayedOverSeconds: number;
  processExits: string[];
  effectMismatch: number;
  terminalLeft: number;
  [extra: string]: unknown;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number) => Math.round(x * 10) / 10;

async function allReady(s: HaStack): Promise<boolean> {
  const st = await Promise.all(
    s.c.procs.map((p) => fetch(`http://127.0.0.1:${p.port}/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0)),
  );
  return st.every((x) => x === 200);
}

/**
 * Runs the load, calls `fault` FAULT_AFTER_MS into it, waits until every accepted task is terminal
 * (or `settleMs` passes), and measures. `fault` returns what it wants in the figures.
 */
export async function underLoad(s: HaStack, scenario: string, fault: () => Promise<Record<string, unknown>>, settleMs = 120_000): Promise<Figures> {
  const { c } = s;
  const loading = c.load({
    count: TASKS,
    ratePerSecond: RATE,
    concurrency: 32,
    maxMs: (TASKS / RATE) * 1000 + 60_000,
    requestTimeoutMs: 15_000,
    body: () => ({ type: 'test.record', payload: { mode: 'record', durationMs: 20 } }),
  });
  await sleep(FAULT_AFTER_MS);
  const faultAt = Date.now();
  const faultInfo = await fault();
  // Readiness until the load is over and every process has been ready for a second.
  let lastNotReady = 0;
  let loadOver = false;
  let readySince = 0;
  const readiness = (async () => {
    while (Date.now() - faultAt < settleMs) {
      const ok = await allReady(s);
      if (!ok) lastNotReady = Date.now();
      readySince = ok ? readySince || Date.now() : 0;
      if (loadOver && readySince && Date.now() - readySince > 1_000) return;
      await sleep(250);
    }
  })();
  const load = await loading;
  loadOver = true;
  await readiness;
  await c.waitTerminal(load.accepted, Math.max(5_000, settleMs - (Date.now() - faultAt))).catch(() => undefined);
  const r: Report = await c.report(scenario, load.accepted);
  const delayed = await c.t.db.raw<{ rows: { last: string | null; threshold: string }[] }>(
    `WITH normal AS (
       SELECT greatest(1.0, 3 * coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)), 0)) AS s
         FROM tasks WHERE id = ANY(:ids::uuid[]) AND finished_at < to_timestamp(:at / 1000.0))
     SELECT extract(epoch FROM max(finished_at)) * 1000 AS last, (SELECT s FROM normal) AS threshold FROM tasks
      WHERE id = ANY(:ids::uuid[]) AND extract(epoch FROM finished_at - created_at) > (SELECT s FROM normal)`,
    { ids: load.accepted, at: faultAt },
  );
  const lastDelayed = delayed.rows[0]?.last;
  const recoverySeconds = r.nonTerminal + r.missing > 0 ? null : lastDelayed ? Math.max(0, (Number(lastDelayed) - faultAt) / 1000) : 0;
  const times = await c.t.db.raw<{ rows: { max_task: string | null; gap: string | null }[] }>(
    `WITH a AS (SELECT created_at, finished_at, created_at - lag(created_at) OVER (ORDER BY created_at) AS gap
                  FROM tasks WHERE id = ANY(?::uuid[]))
     SELECT extract(epoch FROM max(finished_at - created_at)) AS max_task, extract(epoch FROM max(gap)) AS gap FROM a`,
    [load.accepted],
  );
  const retryAfter = [...new Set(load.results.filter((x) => x.status === 503).map((x) => x.headers?.get('retry-after') ?? 'none'))];
  return {
    scenario,
    accepted: r.accepted,
    rejected: load.rejected,
    done: r.done,
    lost: r.lost,
    duplicateExecutions: r.duplicateExecutions,
    duplicateEffects: r.duplicateEffects,
    effectMismatch: r.effectMismatch,
    terminalLeft: r.terminalLeft,
    recoverySeconds: recoverySeconds === null ? null : round(recoverySeconds),
    maxTaskSeconds: round(Number(times.rows[0]?.max_task ?? 0)),
    acceptGapSeconds: round(Number(times.rows[0]?.gap ?? 0)),
    notReadySeconds: lastNotReady ? round((lastNotReady - faultAt) / 1000 + 0.25) : 0,
    retryAfter,
    delayedOverSeconds: round(Number(delayed.rows[0]?.threshold ?? 1)),
    processExits: s.c.procs.flatMap((p) => p.exits.map((e) => `${p.name}:${e}`)),
    ...faultInfo,
  };
}

/** The table the suite prints (and docs/resilience.md carries). */
export function table(rows: Figures[]): string {
  const cols: [string, (f: Figures) => unknown][] = [
    ['scenario', (f) => f.scenario],
    ['accepted', (f) => f.accepted],
    ['non-202', (f) => Object.entries(f.rejected).map(([k, v]) => `${v}×${k}`).join(' ') || '0'],
    ['done', (f) => f.done],
    ['lost', (f) => f.lost],
    ['dup. exec.', (f) => f.duplicateExecutions],
    ['dup. effects', (f) => f.duplicateEffects],
    ['recovery s (delayed = over s)', (f) => `${f.recoverySeconds ?? '–'} (>${f.delayedOverSeconds})`],
    ['max task s', (f) => f.maxTaskSeconds],
    ['no-202 gap s', (f) => f.acceptGapSeconds],
    ['not ready s', (f) => f.notReadySeconds],
    ['rejoin s', (f) => f.rejoinSeconds ?? '–'],
    ['exits', (f) => f.processExits.length],
  ];
  const lines = [`| ${cols.map((c) => c[0]).join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  for (const f of rows) lines.push(`| ${cols.map((c) => String(c[1](f))).join(' | ')} |`);
  return lines.join('\n');
}
