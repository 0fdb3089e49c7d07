/**
 * Three RabbitMQ nodes in containers forming one cluster (classic peer discovery), with
 * `cluster_partition_handling = pause_minority`: a node that finds itself in a minority stops
 * serving, so a partitioned node can never accept publishes the majority does not see.
 */
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../support/infra';
import { NETWORK, PREFIX, execIn, podman } from './podman';

export const RABBITMQ_IMAGE = 'docker.io/library/rabbitmq:4.1-management';
const COOKIE = 'tasker-ha-cookie';
export const RABBITMQ_USER = 'tasker';

export interface RabbitNode {
  /** Container name = hostname; the Erlang node is rabbit@<name>. */
  name: string;
  /** AMQP port published on 127.0.0.1. */
  port: number;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** amqp URL of one node, reached directly (not through the load balancer). */
  url(node: RabbitNode): string;
  byErlangName(erlangNode: string): RabbitNode;
  /** Nodes the cluster reports running, asked through `via` (or any node that answers). */
  runningNodes(via?: RabbitNode): Promise<string[]>;
  /** The node leading a quorum queue (its Raft leader), as `via` (or any node that answers) sees it. */
  leaderOf(queue: string, via?: RabbitNode): Promise<RabbitNode>;
  /** Quorum-queue members that are online, as the leader's side sees them. */
  onlineMembers(queue: string): Promise<string[]>;
  /** The node holding each client connection whose connection_name starts with `namePrefix`. */
  connectionNodes(namePrefix: string): Promise<{ name: string; node: RabbitNode }[]>;
  waitRunning(count: number, timeoutMs: number, via?: RabbitNode): Promise<void>;
  /** Partitions the node `via` (or any node) has recorded. */
  partitions(via?: RabbitNode): Promise<number>;
  /** `rabbitmqctl stop_app` + `start_app` on the node: what RabbitMQ prescribes for the losing side of a partition. */
  restartApp(n: RabbitNode): Promise<void>;
}

export async function startRabbitCluster(dir: string, basePort: number): Promise<RabbitCluster> {
  const conf = path.join(dir, 'rabbitmq-cluster.conf');
  const nodes: RabbitNode[] = [1, 2, 3].map((i) => ({ name: `${PREFIX}rmq${i}`, port: basePort + i }));
  fs.writeFileSync(
    conf,
    [
      'cluster_formation.peer_discovery_backend = classic_config',
      ...nodes.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = rabbit@${n.name}`),
      'cluster_partition_handling = pause_minority',
      '',
    ].join('\n'),
  );
  for (const n of nodes) {
    await podman([
      'run', '-d', '--name', n.name, '--hostname', n.name, '--network', NETWORK,
      // a peer silent for ~10 s (not the default 60) is declared down: partitions are detected within the test's budget
      '-e', 'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel net_ticktime 10',
      '-e', `RABBITMQ_ERLANG_COOKIE=${COOKIE}`, '-e', `RABBITMQ_DEFAULT_USER=${RABBITMQ_USER}`, '-e', `RABBITMQ_DEFAULT_PASS=${RABBITMQ_USER}`,
      '-v', `${conf}:/etc/rabbitmq/conf.d/20-cluster.conf:ro`,
      '-p', `127.0.0.1:${n.port}:5672`,
      RABBITMQ_IMAGE,
    ]);
  }
  const byErlangName = (e: string) => {
    const n = nodes.find((x) => `rabbit@${x.name}` === e);
    if (!n) throw new Error(`unknown node ${e}`);
    return n;
  };
  const ctl = async (args: string[], via?: RabbitNode): Promise<unknown> => {
    for (const n of via ? [via] : nodes) {
      const out = await execIn(n.name, ['rabbitmqctl', '-q', ...args, '--formatter', 'json']);
      if (out !== null && out.trim() !== '') return JSON.parse(out) as unknown;
    }
    throw new Error(`rabbitmqctl ${args.join(' ')}: no node answered`);
  };
  const cluster: RabbitCluster = {
    nodes,
    url: (n) => `amqp://${RABBITMQ_USER}:${RABBITMQ_USER}@127.0.0.1:${n.port}`,
    byErlangName,
    async runningNodes(via) {
      const s = (await ctl(['cluster_status'], via)) as { running_nodes: string[] };
      return s.running_nodes;
    },
    async leaderOf(queue, via) {
      const qs = (await ctl(['list_queues', 'name', 'leader'], via)) as { name: string; leader: string }[];
      const q = qs.find((x) => x.name === queue);
      if (!q) throw new Error(`queue ${queue} not found`);
      return byErlangName(q.leader);
    },
    async onlineMembers(queue) {
      const qs = (await ctl(['list_queues', 'name', 'online'])) as { name: string; online: string[] }[];
      return qs.find((x) => x.name === queue)?.online ?? [];
    },
    async connectionNodes(namePrefix) {
      // list_connections has no node column on 3.x; `host` is the server-side address of the
      // connection, which is the container's address of the node that accepted it.
      const byIp = new Map<string, RabbitNode>();
      for (const n of nodes) byIp.set(await containerIp(n.name), n);
      const cs = (await ctl(['list_connections', 'host', 'client_properties'])) as { host: unknown; client_properties: unknown }[];
      const out: { name: string; node: RabbitNode }[] = [];
      for (const c of cs) {
        const name = connectionName(c.client_properties);
        const node = byIp.get(ipOf(c.host));
        if (node && name.startsWith(namePrefix)) out.push({ name, node });
      }
      return out;
    },
    async partitions(via) {
      const st = (await ctl(['cluster_status'], via)) as { partitions?: Record<string, string[]> };
      return Object.keys(st.partitions ?? {}).length;
    },
    async restartApp(n) {
      await podman(['exec', n.name, 'rabbitmqctl', '-q', 'stop_app'], 120_000);
      await podman(['exec', n.name, 'rabbitmqctl', '-q', 'start_app'], 180_000);
    },
    async waitRunning(count, timeoutMs, via) {
      await waitFor(`${count} RabbitMQ nodes running`, async () => (await cluster.runningNodes(via)).length === count, timeoutMs, 1_000);
    },
  };
  await cluster.waitRunning(3, 180_000);
  return cluster;
}

/** client_properties comes as a list of [key, type, value] triples or an object, by version. */
function connectionName(props: unknown): string {
  if (Array.isArray(props)) {
    const e = (props as unknown[][]).find((p) => p[0] === 'connection_name');
    return e ? String(e[2]) : '';
  }
  const v = (props as Record<string, unknown> | null)?.connection_name;
  return typeof v === 'string' ? v : '';
}

/** The node's address on the suite's network (it may change after a network disconnect/connect). */
async function containerIp(name: string): Promise<string> {
  return (await podman(['inspect', '-f', `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, name])).trim();
}

/** rabbitmqctl's JSON gives an address as a tuple: 4 bytes, or 8 IPv6 words (IPv4-mapped here). */
function ipOf(host: unknown): string {
  if (typeof host === 'string') return host;
  if (Array.isArray(host) && host.length === 4) return host.join('.');
  if (Array.isArray(host) && host.length === 8 && host[5] === 65535) {
    const [a, b] = [Number(host[6]), Number(host[7])];
    return [a >> 8, a & 255, b >> 8, b & 255].join('.');
  }
  return JSON.stringify(host);
}
