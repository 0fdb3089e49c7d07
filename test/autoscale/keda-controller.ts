/**
 * A test-sized KEDA + HPA controller for one worker group, driven by the rendered ScaledObject and
 * worker Deployment (render-autoscaling.mjs): every `pollingInterval` it reads each trigger's data
 * source — the postgresql trigger's query on the real database, the rabbitmq trigger's queue depth
 * on the real broker (ready messages: the test broker has no management plugin, so prefetched
 * unacked ones are not counted) — and sets replicas as KEDA and the HPA would:
 * - activation: any trigger above its activation value; a group at 0 goes to max(1, min);
 * - desired = max over triggers of ceil(metric / target) (AverageValue), within min..max;
 * - scale-down: the largest recommendation of the stabilisation window, at most `value` pods per
 *   `periodSeconds`; to 0 only after `cooldownPeriod` without activity (KEDA);
 * - a removed replica gets SIGTERM, then SIGKILL after the rendered terminationGracePeriodSeconds,
 *   as the kubelet does. The HPA's 15 s sync period is the polling interval here.
 */
import type { Knex } from 'knex';
import amqp from 'amqplib';
import { RABBITMQ_URL } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

export interface RenderedGroup {
  name: string;
  graceSeconds: number;
  env: Record<string, string>;
  scaledObject: {
    pollingInterval: number;
    cooldownPeriod: number;
    minReplicaCount: number;
    maxReplicaCount: number;
    advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: number; policies: { type: string; value: number; periodSeconds: number }[] } } } };
    triggers: { type: string; metadata: Record<string, string> }[];
  };
}

/** Tasks a replica's drain interrupted (its log says so): a cut attempt. */
export const cutTasks = (r: Replica) => r.proc.logs.filter((l) => l.msg.startsWith('drain timeout: task interrupted')).length;

export interface Replica {
  proc: ServiceProcess;
  workerId: string;
  startedAt: number;
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
  db: Knex;
  /** Environment of a worker process (database, broker, prefix); the rendered env is laid over it. */
  workerEnv: Record<string, string>;
  log?: (line: string) => void;
}

export function createKedaController(d: ControllerDeps) {
  const so = d.group.scaledObject;
  const down = so.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
  const pods = down.policies.find((p) => p.type === 'Pods')!;
  const pgTrigger = so.triggers.find((t) => t.type === 'postgresql');
  const mqTriggers = so.triggers.filter((t) => t.type === 'rabbitmq');
  const replicas: Replica[] = [];
  const all: Replica[] = [];
  const samples: Sample[] = [];
  const recommendations: { at: number; n: number }[] = [];
  const t0 = Date.now();
  let lastActive = 0;
  let timer: NodeJS.Timeout | null = null;
  let busy: Promise<void> | null = null;
  let stopped = false;
  let conn: amqp.ChannelModel | null = null;
  let ch: amqp.Channel | null = null;
  const pending: Promise<unknown>[] = [];

  async function queueDepth(queue: string): Promise<number> {
    conn ??= await amqp.connect(RABBITMQ_URL);
    ch ??= await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  }

  async function addReplica(): Promise<void> {
    const port = await freePort();
    const proc = await startReady('worker', { ...d.workerEnv, ...d.group.env, WORKER_ADMIN_PORT: String(port) }, port);
    const r: Replica = { proc, workerId: `:${proc.child.pid}`, startedAt: Date.now() };
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
    pending.push(r.proc.stop('SIGTERM').then((exit) => {
      clearTimeout(kill);
      r.removed!.exit = exit;
    }));
  }

  async function poll(): Promise<void> {
    const now = Date.now();
    const work = pgTrigger ? Number((await d.db.raw<{ rows: { count: string }[] }>(pgTrigger.metadata.query!)).rows[0]!.count) : 0;
    const depths = await Promise.all(mqTriggers.map((t) => queueDepth(t.metadata.queueName!)));
    const queued = depths.reduce((a, b) => a + b, 0);
    const running = Number((await d.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing'`)).rows[0]!.n);

    const active =
      (pgTrigger !== undefined && work > Number(pgTrigger.metadata.activationTargetQueryValue)) ||
      mqTriggers.some((t, i) => depths[i]! > Number(t.metadata.activationValue));
    if (active) lastActive = now;
    const raw = Math.max(
      pgTrigger ? Math.ceil(work / Number(pgTrigger.metadata.targetQueryValue)) : 0,
      ...mqTriggers.map((t, i) => Math.ceil(depths[i]! / Number(t.metadata.value))),
    );
    const floor = Math.max(1, so.minReplicaCount);
    let desired = Math.min(so.maxReplicaCount, Math.max(floor, raw));
    recommendations.push({ at: now, n: desired });
    const windowStart = now - down.stabilizationWindowSeconds * 1000;
    while (recommendations.length && recommendations[0]!.at < windowStart) recommendations.shift();
    const current = replicas.length;
    if (current === 0) desired = active ? desired : 0;
    else if (!active && so.minReplicaCount === 0 && now - lastActive >= so.cooldownPeriod * 1000) desired = 0; // KEDA deactivation
    else if (desired < current) {
      const stabilised = Math.max(...recommendations.map((r) => r.n));
      const removedRecently = all.filter((r) => r.removed && r.removed.at > now - pods.periodSeconds * 1000).length;
      desired = Math.max(stabilised, current - Math.max(0, pods.value - removedRecently));
    }
    samples.push({ t: (now - t0) / 1000, replicas: current, queued, running, work, desired });
    d.log?.(`t=${((now - t0) / 1000).toFixed(1)}s replicas=${current} desired=${desired} work=${work} queued=${queued} running=${running}`);
    if (desired > current) await Promise.all(Array.from({ length: desired - current }, () => addReplica()));
    for (let i = current; i > desired; i--) await removeReplica();
  }

  const tick = () => {
    if (stopped) return;
    busy = poll()
      .catch((e: unknown) => d.log?.(`poll failed: ${String(e)}`))
      .finally(() => {
        busy = null;
        if (!stopped) timer = setTimeout(tick, so.pollingInterval * 1000);
      });
  };

  return {
    /** Epoch ms of the controller's start; sample times are seconds since then. */
    startedAt: t0,
    samples,
    /** Every replica ever started, with how it was removed. */
    replicas: all,
    current: () => replicas.length,
    start: () => tick(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await busy;
      await Promise.all([...replicas.splice(0).map((r) => r.proc.stop('SIGTERM')), ...pending]);
      await conn?.close().catch(() => undefined);
    },
  };
}
