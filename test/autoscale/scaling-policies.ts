/**
 * What the simulated autoscaler applies, read from the rendered chart (render-autoscaling.mjs):
 * - KEDA (a ScaledObject): each trigger's data source — the postgresql trigger's query on the real
 *   database, the rabbitmq trigger's queue depth on the real broker (ready messages: the test broker
 *   has no management plugin, so prefetched unacked ones are not counted); activation thresholds,
 *   min/max, cooldown, the advanced HPA scale-down behaviour; polling every `pollingInterval`.
 * - HPA: the External metric the adapter would serve — the API's tasker_scaling_work_tasks gauge
 *   for the group's queues, read from the API's /metrics (max over API replicas, as the adapter
 *   rule) — per AverageValue target, min/max and behaviour; read every scrape interval (the HPA's
 *   15 s sync period is the scrape interval here).
 */
import type { Knex } from 'knex';
import amqp from 'amqplib';
import { RABBITMQ_URL } from '../support/infra';
import { sample } from '../support/prom-text';

interface Behavior {
  scaleDown: { stabilizationWindowSeconds: number; policies: { type: string; value: number; periodSeconds: number }[] };
}

export interface RenderedGroup {
  name: string;
  graceSeconds: number;
  env: Record<string, string>;
  scaledObject?: {
    pollingInterval: number;
    cooldownPeriod: number;
    minReplicaCount: number;
    maxReplicaCount: number;
    advanced: { horizontalPodAutoscalerConfig: { behavior: Behavior } };
    triggers: { type: string; metadata: Record<string, string> }[];
  };
  hpa?: {
    minReplicas: number;
    maxReplicas: number;
    behavior: Behavior;
    metrics: { external: { metric: { name: string; selector: { matchExpressions: { values: string[] }[] } }; target: { averageValue: string } } }[];
  };
  scrapeInterval?: string;
}

/** One poll's reading: replicas the signal asks for (before min/max), whether any trigger is active, and what it saw. */
export interface Reading {
  raw: number;
  active: boolean;
  work: number;
  queued: number;
}

export interface ScalingPolicy {
  kind: 'keda' | 'hpa';
  pollMs: number;
  min: number;
  max: number;
  /** KEDA: seconds without activity before going to `min` 0; null for the HPA (min ≥ 1). */
  cooldownSeconds: number | null;
  stabilizationSeconds: number;
  podsPerPeriod: { value: number; periodSeconds: number };
  read(): Promise<Reading>;
  close(): Promise<void>;
}

const podsPolicy = (b: Behavior) => b.scaleDown.policies.find((p) => p.type === 'Pods')!;

export function kedaPolicy(group: RenderedGroup, db: Knex): ScalingPolicy {
  const so = group.scaledObject!;
  const pg = so.triggers.find((t) => t.type === 'postgresql');
  const mq = so.triggers.filter((t) => t.type === 'rabbitmq');
  let conn: amqp.ChannelModel | null = null;
  let ch: amqp.Channel | null = null;
  const depth = async (queue: string) => {
    conn ??= await amqp.connect(RABBITMQ_URL);
    ch ??= await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  };
  return {
    kind: 'keda',
    pollMs: so.pollingInterval * 1000,
    min: so.minReplicaCount,
    max: so.maxReplicaCount,
    cooldownSeconds: so.cooldownPeriod,
    stabilizationSeconds: so.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds,
    podsPerPeriod: podsPolicy(so.advanced.horizontalPodAutoscalerConfig.behavior),
    async read() {
      const work = pg ? Number((await db.raw<{ rows: { count: string }[] }>(pg.metadata.query!)).rows[0]!.count) : 0;
      const depths = await Promise.all(mq.map((t) => depth(t.metadata.queueName!)));
      return {
        work,
        queued: depths.reduce((a, b) => a + b, 0),
        active: (pg !== undefined && work > Number(pg.metadata.activationTargetQueryValue)) || mq.some((t, i) => depths[i]! > Number(t.metadata.activationValue)),
        raw: Math.max(pg ? Math.ceil(work / Number(pg.metadata.targetQueryValue)) : 0, ...mq.map((t, i) => Math.ceil(depths[i]! / Number(t.metadata.value)))),
      };
    },
    async close() {
      await conn?.close().catch(() => undefined);
    },
  };
}

export function hpaPolicy(group: RenderedGroup, apiBases: () => string[]): ScalingPolicy {
  const h = group.hpa!;
  const m = h.metrics[0]!.external;
  const queues = m.metric.selector.matchExpressions[0]!.values;
  const seconds = Number(/^(\d+)s$/.exec(group.scrapeInterval ?? '15s')![1]);
  return {
    kind: 'hpa',
    pollMs: seconds * 1000,
    min: h.minReplicas,
    max: h.maxReplicas,
    cooldownSeconds: null,
    stabilizationSeconds: h.behavior.scaleDown.stabilizationWindowSeconds,
    podsPerPeriod: podsPolicy(h.behavior),
    async read() {
      const texts = await Promise.all(apiBases().map(async (b) => (await fetch(`${b}/metrics`)).text()));
      // The adapter rule: max by (queue) over API replicas; the HPA sums the series its selector matches.
      const work = queues.reduce((sum, queue) => sum + Math.max(0, ...texts.map((t) => sample(t, m.metric.name, { queue }) ?? 0)), 0);
      return { work, queued: 0, active: work > 0, raw: Math.ceil(work / Number(m.target.averageValue)) };
    },
    close: () => Promise.resolve(),
  };
}
