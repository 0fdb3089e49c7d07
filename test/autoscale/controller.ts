/**
 * A test-sized autoscaler for one worker group, applying a ScalingPolicy read from the rendered
 * chart (scaling-policies.ts) the way KEDA and the HPA do:
 * - activation (KEDA): a group at 0 goes to max(1, min) when a trigger is active;
 * - desired = the signal's replicas within min..max (AverageValue: ceil(metric / target));
 * - scale-down: the largest recommendation of the stabilisation window, at most `value` pods per
 *   `periodSeconds`; to 0 only after `cooldownPeriod` without activity (KEDA);
 * - a removed replica gets SIGTERM, then SIGKILL after the rendered terminationGracePeriodSeconds,
 *   as the kubelet does. Added replicas are real worker processes with the rendered env.
 */
import type { Knex } from 'knex';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import type { RenderedGroup, ScalingPolicy } from './scaling-policies';

/** Tasks a replica's drain interrupted (its log says so): a cut attempt. */
export const cutTasks = (r: Replica) => r.proc.logs.filter((l) => l.msg.startsWith('drain timeout: task interrupted')).length;

export interface Replica {
  proc: ServiceProcess;
  workerId: string;
  /** Set when the controller removed it: tasks it was running then, and whether SIGKILL was needed. */
  removed?: { at: number; runningTasks: number; killed: boolean; exit?: number | string };
}

export interface Sample {
  t: number;
  replicas: number;
  queued: number;
  running: number;
  work: number;
  desired: number;
}

export interface ControllerDeps {
  group: RenderedGroup;
  policy: ScalingPolicy;
  db: Knex;
  /** Environment of a worker process (database, broker, prefix); the rendered env is laid over it. */
  workerEnv: Record<string, string>;
  log?: (line: string) => void;
}

export function createController(d: ControllerDeps) {
  const p = d.policy;
  const replicas: Replica[] = [];
  const all: Replica[] = [];
  const samples: Sample[] = [];
  const recommendations: { at: number; n: number }[] = [];
  const t0 = Date.now();
  let lastActive = 0;
  let timer: NodeJS.Timeout | null = null;
  let busy: Promise<void> | null = null;
  let stopped = false;
  const exits: Promise<unknown>[] = [];

  async function addReplica(): Promise<void> {
    const port = await freePort();
    const proc = await startReady('worker', { ...d.workerEnv, ...d.group.env, WORKER_ADMIN_PORT: String(port) }, port);
    const r: Replica = { proc, workerId: `:${proc.child.pid}` };
    replicas.push(r);
    all.push(r);
  }

  /** SIGTERM the newest replica; SIGKILL it if it outlives the rendered grace period. */
  async function removeReplica(): Promise<void> {
    const r = replicas.pop()!;
    const running = await d.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing' AND locked_by LIKE ?`, [`%${r.workerId}`]);
    r.removed = { at: Date.now(), runningTasks: Number(running.rows[0]!.n), killed: false };
    d.log?.(`  scale-down: SIGTERM pid ${r.proc.child.pid} running ${r.removed.runningTasks} task(s)`);
    const kill = setTimeout(() => {
      r.removed!.killed = true;
      r.proc.child.kill('SIGKILL');
    }, d.group.graceSeconds * 1000);
    exits.push(
      r.proc.stop('SIGTERM').then((exit) => {
        clearTimeout(kill);
        r.removed!.exit = exit;
      }),
    );
  }

  async function poll(): Promise<void> {
    const now = Date.now();
    const s = await p.read();
    const running = Number((await d.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing'`)).rows[0]!.n);
    if (s.active) lastActive = now;
    let desired = Math.min(p.max, Math.max(Math.max(1, p.min), s.raw));
    recommendations.push({ at: now, n: desired });
    while (recommendations.length && recommendations[0]!.at < now - p.stabilizationSeconds * 1000) recommendations.shift();
    const current = replicas.length;
    if (current === 0) desired = s.active || p.min > 0 ? desired : 0;
    else if (p.cooldownSeconds !== null && !s.active && p.min === 0 && now - lastActive >= p.cooldownSeconds * 1000) desired = 0; // KEDA deactivation
    else if (desired < current) {
      const stabilised = Math.max(...recommendations.map((r) => r.n));
      const removedRecently = all.filter((r) => r.removed && r.removed.at > now - p.podsPerPeriod.periodSeconds * 1000).length;
      desired = Math.max(stabilised, current - Math.max(0, p.podsPerPeriod.value - removedRecently));
    }
    samples.push({ t: (now - t0) / 1000, replicas: current, queued: s.queued, running, work: s.work, desired });
    d.log?.(`t=${((now - t0) / 1000).toFixed(1)}s ${p.kind} replicas=${current} desired=${desired} work=${s.work} queued=${s.queued} running=${running}`);
    if (desired > current) await Promise.all(Array.from({ length: desired - current }, () => addReplica()));
    for (let i = current; i > desired; i--) await removeReplica();
  }

  const tick = () => {
    if (stopped) return;
    busy = poll()
      .catch((e: unknown) => d.log?.(`poll failed: ${String(e)}`))
      .finally(() => {
        busy = null;
        if (!stopped) timer = setTimeout(tick, p.pollMs);
      });
  };

  return {
    /** Epoch ms of the controller's start; sample times are seconds since then. */
    startedAt: t0,
    pollMs: p.pollMs,
    /** The replicas the group returns to when idle (KEDA's minReplicaCount, the HPA's minReplicas). */
    minReplicas: p.cooldownSeconds === null ? Math.max(1, p.min) : p.min,
    samples,
    /** Every replica ever started, with how it was removed. */
    replicas: all,
    current: () => replicas.length,
    start: () => tick(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await busy;
      await Promise.all([...replicas.splice(0).map((r) => r.proc.stop('SIGTERM')), ...exits]);
      await p.close();
    },
  };
}
