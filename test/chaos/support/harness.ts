/**
 * Fault-injection harness: a per-file cluster (fresh database and AMQP prefix from createTestEnv,
 * the real API and worker entry points as child processes), load generators bounded in count and
 * time that only target 127.0.0.1, and `report()`, which turns the database into the figures the
 * issue asks for.
 *
 * Instrumentation (test database only, installed by `createCluster`):
 *  - `test_effect_applications`: a BEFORE INSERT trigger on `test_effects` records every effect the
 *    `test.record` handler applies. The handler applies its effect inside the fenced completion
 *    transaction (`INSERT … ON CONFLICT DO NOTHING`), so a row here exists exactly when a completion
 *    transaction committed. The primary key of `test_effects` hides a second application; this table
 *    does not (BEFORE triggers fire before the conflict check).
 *  - `test_transitions`: an AFTER UPDATE trigger on `tasks` records every status change with the
 *    attempt counter and `run_after`, timestamped with clock_timestamp().
 *
 * Figures (`Report`), all restricted to the task ids the scenario passes in:
 *  - accepted: ids the API answered 202 for (or that the scenario otherwise knows were committed).
 *  - done / failed / cancelled: terminal statuses now; nonTerminal: pending or processing now;
 *    missing: accepted ids with no row at all. lost = accepted − terminal = nonTerminal + missing.
 *  - executions: rows in `test_executions` (one per handler start of `test.record`).
 *  - duplicateExecutions: handler starts the task's own record does not account for. Every
 *    legitimate re-execution leaves a recorded attempt outcome in `tasks.errors` (a failed or
 *    timed-out attempt, a retry-later reschedule, or the reaper's `crashed` entry when a lease expired),
 *    so a task may have at most `errors + 1` executions if it ended done/cancelled/processing and
 *    `errors` if it is failed or pending. duplicateExecutions = Σ max(0, executions − that bound).
 *    It counts double claims, handlers run without a claim, and runs after a drain released a task
 *    (release records no error; a clean drain must not need it). Only `test.record` records executions.
 *  - duplicateEffects: tasks whose effect was applied by more than one committed completion
 *    (`test_effect_applications` rows per task > 1).
 *  - effectMismatch: `record`/`sleep` tasks that are done without their effect, plus tasks that have
 *    an effect but are not done (the effect must commit with, and only with, the completion).
 *  - terminalLeft: tasks that changed status after reaching a terminal one (must never happen).
 *  - recoverySeconds: from a reference instant the scenario names (end of the fault, last kill) to
 *    the moment the last accepted task became terminal (max finished_at); null when not applicable.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestEnv, waitFor, type TestEnv, type TestInfra } from '../../support/infra';
import { freePort, startService, type LogLine, type ServiceProcess } from '../../support/processes';

export const REPORT_FILE = path.resolve(__dirname, '../../../chaos-report.jsonl');
const TERMINAL = ['done', 'failed', 'cancelled'];
const HOST = '127.0.0.1';

/** Timings scaled down for a 2-core CI machine; scenarios override what they need. */
export const FAST_ENV: Record<string, string> = {
  LOG_LEVEL: 'info',
  LEASE_MS: '2000',
  HEARTBEAT_MS: '500',
  REAP_INTERVAL_MS: '500',
  SWEEP_INTERVAL_MS: '200',
  SWEEP_UNCONFIRMED_AFTER_MS: '1000',
  // The one path that recovers a pending row whose message is gone (a worker SIGKILLed between its
  // sweeper's reserve and publish leaves the row stamped published with no message): the stale
  // republish, after this age once the queue has nothing ready. Scaled down like LEASE_MS (300 s →
  // 20 s); at the default, scenario 2's "nothing non-terminal 60 s after the last kill" failed once
  // in CI with 8 rows stranded (8 = one kill's in-flight batch; the likely path, not reproduced in
  // 12 reruns: reaped, then reserved by a sweeper in a worker that was killed before it published).
  SWEEP_REPUBLISH_AFTER_MS: '20000',
  DRAIN_TIMEOUT_MS: '8000',
  DB_CONNECT_TIMEOUT_MS: '2000',
  DB_STATEMENT_TIMEOUT_MS: '5000',
  AMQP_HEARTBEAT_SECONDS: '5',
  RETRY_BASE_MS: '200',
  RETRY_MAX_MS: '400',
  WORKER_CONCURRENCY: '8',
};

export interface Proc {
  name: string;
  kind: 'api' | 'worker';
  port: number;
  env: Record<string, string>;
  /** Current process (replaced on respawn). */
  p: ServiceProcess;
  /** Every process this handle has had, oldest first (logs of killed ones stay readable). */
  history: ServiceProcess[];
  /** Unexpected exits seen by the supervisor (code or signal). */
  exits: (number | string)[];
  supervise: boolean;
  stopping: boolean;
}

export interface SubmitResult {
  status: number;
  ms: number;
  id?: string;
  body?: unknown;
  headers?: Headers;
  error?: string;
}

export interface LoadResult {
  accepted: string[];
  results: SubmitResult[];
  /** Requests that did not get a 202, by status (0 = network error). */
  rejected: Record<string, number>;
  seconds: number;
}

export interface Report {
  scenario: string;
  accepted: number;
  done: number;
  failed: number;
  cancelled: number;
  nonTerminal: number;
  missing: number;
  lost: number;
  executions: number;
  duplicateExecutions: number;
  duplicateEffects: number;
  effectMismatch: number;
  terminalLeft: number;
  recoverySeconds: number | null;
  [extra: string]: unknown;
}

export interface Cluster {
  t: TestEnv;
  base: string;
  apiPort: number;
  procs: Proc[];
  startApi(extra?: Record<string, string>, opts?: { ready?: boolean; supervise?: boolean }): Promise<Proc>;
  startWorker(extra?: Record<string, string>, opts?: { ready?: boolean; supervise?: boolean; name?: string }): Promise<Proc>;
  /** Restarts a handle's process (after a kill) and waits until it is ready. */
  respawn(h: Proc): Promise<void>;
  /** Sends a signal; the supervisor does not restart a process killed through this. */
  kill(h: Proc, signal: NodeJS.Signals): Promise<number | string>;
  workers(): Proc[];
  logs(h?: Proc): LogLine[];
  submit(body: unknown, headers?: Record<string, string>, timeoutMs?: number): Promise<SubmitResult>;
  load(o: LoadOptions): Promise<LoadResult>;
  getTask(id: string): Promise<TaskView>;
  /** Waits until every id is terminal in the database; returns seconds waited. */
  waitTerminal(ids: string[], timeoutMs: number, what?: string): Promise<number>;
  /** `since` (epoch ms) with `recoveryIds` (default: ids): recoverySeconds = last finished_at among recoveryIds − since. */
  report(scenario: string, ids: string[], o?: { since?: number; recoveryIds?: string[]; extra?: Record<string, unknown> }): Promise<Report>;
  close(): Promise<void>;
}

export interface LoadOptions {
  count: number;
  body: (i: number) => unknown;
  /** Parallel requests at most (default 16). */
  concurrency?: number;
  /** Requests per second (paced); omit for as fast as `concurrency` allows. */
  ratePerSecond?: number;
  /** Hard stop for the whole loop. */
  maxMs: number;
  headers?: (i: number) => Record<string, string>;
  requestTimeoutMs?: number;
}

export interface TaskView {
  task_id: string;
  status: string;
  attempts: number;
  result: unknown;
  error: { reason: string; message: string; attempt: number; at: string } | null;
  errors: { reason: string; message: string; attempt: number; at: string }[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function instrument(t: TestEnv): Promise<void> {
  await t.db.raw(`CREATE TABLE test_effect_applications (task_id uuid NOT NULL, txid bigint NOT NULL DEFAULT txid_current(),
                    at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  await t.db.raw(`CREATE FUNCTION test_effect_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN INSERT INTO test_effect_applications (task_id) VALUES (NEW.task_id); RETURN NEW; END $$`);
  await t.db.raw(`CREATE TRIGGER test_effect_applied BEFORE INSERT ON test_effects FOR EACH ROW EXECUTE FUNCTION test_effect_applied()`);
  await t.db.raw(`CREATE TABLE test_transitions (task_id uuid NOT NULL, old_status text, new_status text, attempts int,
                    run_after timestamptz, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  await t.db.raw(`CREATE INDEX test_transitions_task ON test_transitions (task_id)`);
  await t.db.raw(`CREATE INDEX test_executions_task ON test_executions (task_id)`);
  await t.db.raw(`CREATE FUNCTION test_transition() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN
                    INSERT INTO test_transitions (task_id, old_status, new_status, attempts, run_after)
                    VALUES (NEW.id, OLD.status, NEW.status, NEW.attempts, NEW.run_after);
                    RETURN NULL;
                  END $$`);
  await t.db.raw(`CREATE TRIGGER test_transition AFTER UPDATE ON tasks FOR EACH ROW
                  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION test_transition()`);
}

/** `infra`: another PostgreSQL / RabbitMQ than the machine's (the HA suite's load balancers). */
export async function createCluster(env: Record<string, string> = {}, infra: Partial<TestInfra> = {}): Promise<Cluster> {
  const apiPort = await freePort();
  const t = await createTestEnv({ ...FAST_ENV, PORT: String(apiPort), ...env }, infra);
  await instrument(t);
  const base = `http://${HOST}:${apiPort}`;
  const procs: Proc[] = [];
  let closing = false;
  let respawns = 0;
  let seq = 0;

  async function waitReady(h: Proc): Promise<void> {
    const p = h.p;
    await waitFor(`${h.name} ready on :${h.port}`, async () => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${h.name} exited with ${p.child.exitCode ?? p.child.signalCode}`);
      const r = await fetch(`http://${HOST}:${h.port}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      return r?.status === 200;
    }, 30_000, 100);
  }

  function spawnInto(h: Proc): void {
    const p = startService(h.kind, h.env);
    h.p = p;
    h.history.push(p);
    void p.exited.then((code) => {
      if (h.p !== p || h.stopping || closing) return;
      h.exits.push(code);
      if (h.supervise && respawns < 50) {
        respawns += 1;
        setTimeout(() => {
          if (!closing && !h.stopping && h.p === p) spawnInto(h);
        }, 100);
      }
    });
  }

  async function start(kind: 'api' | 'worker', extra: Record<string, string>, o: { ready?: boolean; supervise?: boolean; name?: string }): Promise<Proc> {
    const port = kind === 'api' ? apiPort : await freePort();
    const portEnv = kind === 'api' ? { PORT: String(port) } : { WORKER_ADMIN_PORT: String(port) };
    const h = {
      name: o.name ?? `${kind}${kind === 'worker' ? ++seq : ''}`,
      kind,
      port,
      env: { ...t.env, ...extra, ...portEnv },
      history: [],
      exits: [],
      supervise: o.supervise ?? false,
      stopping: false,
    } as unknown as Proc;
    spawnInto(h);
    procs.push(h);
    if (o.ready ?? true) await waitReady(h);
    return h;
  }

  async function submit(body: unknown, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<SubmitResult> {
    const t0 = performance.now();
    try {
      const r = await fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await r.text();
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      const id = r.status === 202 ? (json as { task_id?: string }).task_id : undefined;
      return { status: r.status, ms: performance.now() - t0, id, body: json, headers: r.headers };
    } catch (e) {
      return { status: 0, ms: performance.now() - t0, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  }

  const cluster: Cluster = {
    t,
    base,
    apiPort,
    procs,
    startApi: (extra = {}, o = {}) => start('api', extra, o),
    startWorker: (extra = {}, o = {}) => start('worker', extra, o),
    async respawn(h) {
      h.stopping = false;
      spawnInto(h);
      await waitReady(h);
    },
    async kill(h, signal) {
      h.stopping = true;
      return h.p.stop(signal);
    },
    workers: () => procs.filter((p) => p.kind === 'worker'),
    logs: (h) => (h ? h.history : procs.flatMap((x) => x.history)).flatMap((p) => p.logs),
    submit,

    async load(o) {
      const concurrency = o.concurrency ?? 16;
      const results: SubmitResult[] = [];
      const started = performance.now();
      const deadline = started + o.maxMs;
      let next = 0;
      const runner = async () => {
        for (;;) {
          const i = next++;
          if (i >= o.count || performance.now() > deadline) return;
          if (o.ratePerSecond) {
            const due = started + (i * 1000) / o.ratePerSecond;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
          }
          results[i] = await submit(o.body(i), o.headers?.(i) ?? {}, o.requestTimeoutMs ?? 15_000);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, runner));
      const done = results.filter(Boolean);
      const rejected: Record<string, number> = {};
      for (const r of done) if (r.status !== 202) rejected[r.status] = (rejected[r.status] ?? 0) + 1;
      return {
        accepted: done.filter((r) => r.status === 202 && r.id).map((r) => r.id!),
        results: done,
        rejected,
        seconds: (performance.now() - started) / 1000,
      };
    },

    async getTask(id) {
      const r = await fetch(`${base}/tasks/${id}`, { signal: AbortSignal.timeout(5_000) });
      return (await r.json()) as TaskView;
    },

    async waitTerminal(ids, timeoutMs, what = 'all accepted tasks terminal') {
      const t0 = performance.now();
      await waitFor(what, async () => {
        const r = await t.db.raw<{ rows: { n: string }[] }>(
          `SELECT count(*) AS n FROM tasks WHERE id = ANY(?::uuid[]) AND status IN ('done','failed','cancelled')`,
          [ids],
        );
        return Number(r.rows[0]?.n) === ids.length;
      }, timeoutMs, 200);
      return (performance.now() - t0) / 1000;
    },

    async report(scenario, ids, o = {}) {
      const rows = (
        await t.db.raw<{
          rows: { id: string; status: string; mode: string | null; n_errors: number; execs: string; effect_apps: string; has_effect: boolean }[];
        }>(
          `SELECT t.id, t.status, t.payload->>'mode' AS mode, jsonb_array_length(t.errors) AS n_errors,
                  (SELECT count(*) FROM test_executions e WHERE e.task_id = t.id) AS execs,
                  (SELECT count(*) FROM test_effect_applications a WHERE a.task_id = t.id) AS effect_apps,
                  EXISTS (SELECT 1 FROM test_effects f WHERE f.task_id = t.id) AS has_effect
             FROM tasks t WHERE t.id = ANY(?::uuid[])`,
          [ids],
        )
      ).rows;
      const count = (s: string) => rows.filter((r) => r.status === s).length;
      let duplicateExecutions = 0;
      let executions = 0;
      let duplicateEffects = 0;
      let effectMismatch = 0;
      for (const r of rows) {
        const execs = Number(r.execs);
        executions += execs;
        const bound = r.n_errors + (r.status === 'failed' || r.status === 'pending' ? 0 : 1);
        duplicateExecutions += Math.max(0, execs - bound);
        if (Number(r.effect_apps) > 1) duplicateEffects += 1;
        const effectful = r.mode === null || r.mode === 'record' || r.mode === 'sleep';
        if (r.status === 'done' && effectful && !r.has_effect) effectMismatch += 1;
        if (r.status !== 'done' && r.has_effect) effectMismatch += 1;
      }
      const left = await t.db.raw<{ rows: { n: string }[] }>(
        `SELECT count(DISTINCT task_id) AS n FROM test_transitions
          WHERE task_id = ANY(?::uuid[]) AND old_status IN ('done','failed','cancelled')`,
        [ids],
      );
      let recoverySeconds: number | null = null;
      if (o.since !== undefined) {
        const f = await t.db.raw<{ rows: { last: string | null }[] }>(
          `SELECT extract(epoch FROM max(finished_at)) * 1000 AS last FROM tasks WHERE id = ANY(?::uuid[])`,
          [o.recoveryIds ?? ids],
        );
        const last = f.rows[0]?.last;
        if (last !== null && last !== undefined) recoverySeconds = round(Math.max(0, Number(last) - o.since) / 1000);
      }
      const terminal = rows.filter((r) => TERMINAL.includes(r.status)).length;
      const missing = new Set(ids).size - rows.length;
      return {
        scenario,
        accepted: new Set(ids).size,
        done: count('done'),
        failed: count('failed'),
        cancelled: count('cancelled'),
        nonTerminal: rows.length - terminal,
        missing,
        lost: new Set(ids).size - terminal,
        executions,
        duplicateExecutions,
        duplicateEffects,
        effectMismatch,
        terminalLeft: Number(left.rows[0]?.n),
        recoverySeconds,
        ...(o.extra ?? {}),
      };
    },

    async close() {
      closing = true;
      await Promise.all(
        procs.map(async (h) => {
          h.stopping = true;
          const p = h.p;
          if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGCONT');
          const code = await Promise.race([p.stop('SIGTERM'), sleep(10_000).then(() => 'timeout')]);
          if (code === 'timeout') await p.stop('SIGKILL');
        }),
      );
      await t.cleanup();
    },
  };
  return cluster;
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Prints the figures with t.diagnostic and appends them as one JSON line to dist/chaos-report.jsonl. */
export function publish(t: { diagnostic(msg: string): void }, report: Report): void {
  const line = { at: new Date().toISOString(), ...report };
  for (const [k, v] of Object.entries(report)) t.diagnostic(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  fs.mkdirSync(path.dirname(REPORT_FILE), { recursive: true });
  fs.appendFileSync(REPORT_FILE, `${JSON.stringify(line)}\n`);
}

/** The invariants every scenario shares: nothing lost, nothing applied twice, terminal is final. */
export function assertNoLossNoDuplicateEffect(r: Report): void {
  assert.equal(r.missing, 0, 'every accepted task has a row');
  assert.equal(r.lost, 0, `lost = accepted − terminal must be 0 (non-terminal: ${r.nonTerminal})`);
  assert.equal(r.duplicateEffects, 0, 'no effect applied by two completions');
  assert.equal(r.effectMismatch, 0, 'effects commit with, and only with, the completion');
  assert.equal(r.terminalLeft, 0, 'no task left a terminal state');
}

/** Percentile of a list of numbers (p in 0..100). */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
}

/** Executions per task id (from test_executions). */
export async function executionsOf(t: TestEnv, ids: string[]): Promise<Map<string, { attempt: number; pid: number; at: Date }[]>> {
  const r = await t.db.raw<{ rows: { task_id: string; attempt: number; pid: number; at: Date }[] }>(
    `SELECT task_id, attempt, pid, at FROM test_executions WHERE task_id = ANY(?::uuid[]) ORDER BY at`,
    [ids],
  );
  const m = new Map<string, { attempt: number; pid: number; at: Date }[]>();
  for (const row of r.rows) {
    const list = m.get(row.task_id) ?? [];
    list.push({ attempt: row.attempt, pid: row.pid, at: row.at });
    m.set(row.task_id, list);
  }
  return m;
}

/** Status transitions of one task, oldest first. */
export async function transitionsOf(t: TestEnv, id: string): Promise<{ old_status: string; new_status: string; attempts: number; run_after: Date; at: Date }[]> {
  const r = await t.db.raw<{ rows: { old_status: string; new_status: string; attempts: number; run_after: Date; at: Date }[] }>(
    `SELECT old_status, new_status, attempts, run_after, at FROM test_transitions WHERE task_id = ? ORDER BY at`,
    [id],
  );
  return r.rows;
}
