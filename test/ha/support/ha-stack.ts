/**
 * The whole HA stack of the suite: three RabbitMQ nodes behind an AMQP load balancer, a PostgreSQL
 * primary + synchronous standby behind an entry point that follows the primary, and the real API
 * and two workers as processes (test/chaos's harness: fresh database, instrumentation, figures).
 * The API and worker1 reach the broker through the load balancer; worker2 is given the three
 * nodes' addresses itself (RABBITMQ_URL=a,b,c), as a client without a load balancer would be.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCluster, type Cluster, type Proc } from '../../chaos/support/harness';
import { waitFor } from '../../support/infra';
import { amqpConfig, postgresConfig, startHaproxy, startPrimaryAgent, type Haproxy, type PrimaryAgent } from './load-balancers';
import { ensureNetwork, removeAll, requireImages } from './podman';
import { POSTGRES_IMAGE, startPostgresPair, type PostgresPair } from './postgres-pair';
import { RABBITMQ_IMAGE, startRabbitCluster, type RabbitCluster } from './rabbitmq-cluster';

/** Host ports, all on 127.0.0.1 (the machine's own services keep 5432, 5672, 25672, 4369). */
// below the ephemeral range (32768+), so no outgoing connection can hold one of them when a container binds it
const BASE = Number(process.env.TASKER_HA_BASE_PORT ?? 24400);
const PORTS = { pgLb: BASE + 30, pg: BASE + 30, pgAgent: BASE + 130, amqpLb: BASE + 270, amqp: BASE + 270 };

/**
 * Service settings: production defaults for what the figures depend on (LEASE_MS 30 s: recovery
 * is judged against it), shorter only where a default would just make the run slower to notice
 * a dead peer (AMQP heartbeat 5 s, DB connect timeout 2 s).
 */
export const HA_ENV: Record<string, string> = {
  LEASE_MS: '30000',
  HEARTBEAT_MS: '5000',
  REAP_INTERVAL_MS: '1000',
  SWEEP_INTERVAL_MS: '500',
  SWEEP_UNCONFIRMED_AFTER_MS: '2000',
  RETRY_BASE_MS: '1000',
  RETRY_MAX_MS: '5000',
  AMQP_HEARTBEAT_SECONDS: '5',
  DB_CONNECT_TIMEOUT_MS: '2000',
  DB_STATEMENT_TIMEOUT_MS: '5000',
  WORKER_CONCURRENCY: '8',
};

export interface HaStack {
  dir: string;
  rabbit: RabbitCluster;
  pg: PostgresPair;
  amqpLb: Haproxy;
  pgLb: Haproxy;
  agent: PrimaryAgent;
  c: Cluster;
  api: Proc;
  workers: Proc[];
  /** Seconds each part took to come up. */
  startup: Record<string, number>;
  close(): Promise<void>;
}

export async function startHaStack(): Promise<HaStack> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await start(cleanups);
  } catch (e) {
    // a stack that failed half-way must not leave its haproxy children and containers behind
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await removeAll().catch(() => undefined);
    throw e;
  }
}

async function start(cleanups: (() => Promise<void>)[]): Promise<HaStack> {
  const t0 = performance.now();
  const startup: Record<string, number> = {};
  const mark = (k: string) => (startup[k] = Math.round((performance.now() - t0) / 100) / 10);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tasker-ha-'));
  await requireImages([RABBITMQ_IMAGE, POSTGRES_IMAGE]);
  await removeAll(); // leftovers of an interrupted run of this suite (tasker-ha-* only)
  await ensureNetwork();
  const [rabbit, pg] = await Promise.all([
    startRabbitCluster(dir, PORTS.amqp).then((r) => (mark('rabbitmq'), r)),
    startPostgresPair(PORTS.pg).then((p) => (mark('postgres'), p)),
  ]);
  const agent = await startPrimaryAgent(pg.servers.map((s, i) => ({ agentPort: PORTS.pgAgent + i + 1, isPrimary: () => pg.isPrimary(s) })));
  cleanups.push(() => agent.stop());
  const pgLb = await startHaproxy(dir, 'pg', postgresConfig(PORTS.pgLb, pg.servers.map((s, i) => ({ name: s.name, port: s.port, agentPort: PORTS.pgAgent + i + 1 }))), PORTS.pgLb);
  cleanups.push(() => pgLb.stop());
  const amqpLb = await startHaproxy(dir, 'amqp', amqpConfig(PORTS.amqpLb, rabbit.nodes.map((n) => ({ name: n.name, port: n.port }))), PORTS.amqpLb);
  cleanups.push(() => amqpLb.stop());
  // haproxy starts every server as up until its checks say otherwise: wait for the real picture
  // (only the primary behind the PostgreSQL entry point, all three nodes behind the AMQP one).
  const [primary, standby] = pg.servers;
  await waitFor('PostgreSQL entry point on the primary only', async () => {
    const st = await pgLb.states();
    return st[primary.name] === 2 && st[standby.name] === 0;
  }, 20_000, 250);
  await waitFor('AMQP load balancer with 3 nodes up', async () => Object.values(await amqpLb.states()).filter((x) => x === 2).length === 3, 20_000, 250);
  mark('loadBalancers');
  const c = await createCluster(HA_ENV, {
    adminDatabaseUrl: pg.url(PORTS.pgLb),
    rabbitmqUrl: `amqp://tasker:tasker@127.0.0.1:${PORTS.amqpLb}`,
  });
  cleanups.push(() => c.close());
  const api = await c.startApi();
  const worker1 = await c.startWorker();
  const [n1, n2, n3] = rabbit.nodes;
  const worker2 = await c.startWorker({ RABBITMQ_URL: [n3!, n1!, n2!].map((n) => rabbit.url(n)).join(',') });
  mark('services');
  return {
    dir,
    rabbit,
    pg,
    amqpLb,
    pgLb,
    agent,
    c,
    api,
    workers: [worker1, worker2],
    startup,
    async close() {
      await c.close().catch(() => undefined);
      await amqpLb.stop();
      await pgLb.stop();
      await agent.stop();
      if (process.env.TASKER_HA_KEEP) return; // containers left for a post-mortem (removed by the next run)
      await removeAll();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
