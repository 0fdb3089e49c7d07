/**
 * A task that should jump a backlog (issue 17), two ways, each on one API and one worker with 16
 * slots running `simulate` tasks of 10 ms (short but not zero, so the backlog persists: at most
 * ~1,600 starts/s against a backlog stored in a few seconds):
 *
 * - **priority jump**: 10,000 priority −5 tasks of client a submitted with the worker running,
 *   then one priority 5 task of the same client, then four more one by one;
 * - **starving client**: client a stores 50,000 tasks, the worker starts and serves them, then
 *   client b submits one task, then four more one by one.
 *
 * For each jumping task: `started_at − created_at` (goal ≤ 1 s), how many backlog tasks were
 * still waiting when it was submitted, and how many of them started between its submit and its start.
 */
import type { BenchEnv } from './infra';
import { sleep, startApi, startWorker } from './processes';
import { count, msBetween, pollUntil, spread, submitBatches, submitOne, type Spread } from './scheduling-support';

const SLOTS = 16;
const TASK_MS = 10;

export interface JumpSample {
  waitMs: number;
  /** Backlog tasks submitted before it and not yet started when it was submitted. */
  backlogWaiting: number;
  /** Backlog tasks that started after it was submitted and before it started. */
  overtook: number;
  /** Backlog tasks that started before it did, since the backlog began. */
  startedBefore: number;
}

export interface JumpRun {
  name: 'priority' | 'starving-client';
  backlog: number;
  submitSeconds: number;
  slots: number;
  taskMs: number;
  /** Backlog starts per second in the second before the first jumping task (the claim's pace with this backlog). */
  backlogStartsPerSec: number;
  samples: JumpSample[];
  wait: Spread;
  notStarted: number;
}

interface JumpSpec {
  name: JumpRun['name'];
  backlog: number;
  backlogClient: string;
  backlogPriority: number;
  jumpClient: string;
  jumpPriority: number;
  /** The worker runs while the backlog is submitted (else it starts after). */
  workerDuringSubmit: boolean;
  samples: number;
}

async function jumpRun(env: BenchEnv, clientEnv: Record<string, string>, keys: Record<string, string>, s: JumpSpec): Promise<JumpRun> {
  await env.reset();
  const api = await startApi(clientEnv, `api-${s.name}`);
  const workerEnv = { ...clientEnv, WORKER_CONCURRENCY: String(SLOTS) };
  let worker = s.workerDuringSubmit ? await startWorker(workerEnv, `worker-${s.name}`) : null;
  try {
    const payload = { durationMs: TASK_MS };
    const backlog = await submitBatches(api.url, keys[s.backlogClient]!, s.backlog, () => ({ priority: s.backlogPriority, payload }));
    worker ??= await startWorker(workerEnv, `worker-${s.name}`);
    const isBacklog = `client_id = $1 AND priority = $2`;
    // The backlog is being served before the first jump (a worker that just started is not yet at pace).
    await pollUntil(async () => (await count(env, `${isBacklog} AND started_at IS NOT NULL`, [s.backlogClient, s.backlogPriority])) >= 500, 60_000);
    await sleep(1_000);
    const pace = await count(env, `${isBacklog} AND started_at > now() - interval '1 second'`, [s.backlogClient, s.backlogPriority]);

    const samples: JumpSample[] = [];
    let notStarted = 0;
    for (let i = 0; i < s.samples; i++) {
      const id = await submitOne(api.url, keys[s.jumpClient]!, { priority: s.jumpPriority, payload });
      const started = await pollUntil(async () => (await count(env, `id = $1 AND started_at IS NOT NULL`, [id])) === 1, 30_000, 20);
      if (!started) {
        notStarted++;
        continue;
      }
      const r = await env.db.query<JumpSample>(
        `SELECT ${msBetween('j.started_at', 'j.created_at')} AS "waitMs",
                count(*) FILTER (WHERE b.created_at <= j.created_at AND (b.started_at IS NULL OR b.started_at > j.created_at))::int AS "backlogWaiting",
                count(*) FILTER (WHERE b.started_at > j.created_at AND b.started_at < j.started_at)::int AS overtook,
                count(*) FILTER (WHERE b.started_at < j.started_at)::int AS "startedBefore"
           FROM tasks j, tasks b
          WHERE j.id = $1 AND b.client_id = $2 AND b.priority = $3 AND b.id <> j.id
          GROUP BY j.started_at, j.created_at`,
        [id, s.backlogClient, s.backlogPriority],
      );
      samples.push(r.rows[0]!);
      await sleep(300);
    }
    return {
      name: s.name,
      backlog: backlog.ids.length,
      submitSeconds: backlog.seconds,
      slots: SLOTS,
      taskMs: TASK_MS,
      backlogStartsPerSec: pace,
      samples,
      wait: spread(samples.map((x) => x.waitMs)),
      notStarted,
    };
  } finally {
    await worker?.stop();
    await api.svc.stop();
  }
}

export const priorityJumpRun = (env: BenchEnv, clientEnv: Record<string, string>, keys: Record<string, string>, backlog: number, samples: number) =>
  jumpRun(env, clientEnv, keys, { name: 'priority', backlog, backlogClient: 'a', backlogPriority: -5, jumpClient: 'a', jumpPriority: 5, workerDuringSubmit: true, samples });

export const starvingClientRun = (env: BenchEnv, clientEnv: Record<string, string>, keys: Record<string, string>, backlog: number, samples: number) =>
  jumpRun(env, clientEnv, keys, { name: 'starving-client', backlog, backlogClient: 'a', backlogPriority: 0, jumpClient: 'b', jumpPriority: 0, workerDuringSubmit: false, samples });
