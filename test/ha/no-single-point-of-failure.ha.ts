/**
 * Issue 19 — no single point of failure, proven: under 100 tasks/s, lose a RabbitMQ node (the
 * queue leader; the node of the API's connection; the node of a worker's), partition one off the
 * network and freeze another, and fail
 * the PostgreSQL primary over to its synchronous standby. Every scenario must end with
 * lost = 0, duplicate effects = 0, every accepted task done, every task done within its lease (30 s,
 * + reaper period + a run) of its 202, every process ready again within the lease, and no process exit; each failed part must come back (node rejoins, old primary becomes the standby).
 * Containers: podman images from ../shared/containers/setup.sh --standins; haproxy from Debian.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { waitFor } from '../support/infra';
import { NETWORK, podman } from './support/podman';
import { HA_ENV, startHaStack, type HaStack } from './support/ha-stack';
import { RATE, TASKS, table, underLoad, type Figures } from './support/under-load';
import type { RabbitNode } from './support/rabbitmq-cluster';

const LEASE_SECONDS = Number(HA_ENV.LEASE_MS) / 1000;
/** A task recovered through its lease: lease + one reaper period + 5 s to run it again. */
const TASK_BOUND_SECONDS = LEASE_SECONDS + Number(HA_ENV.REAP_INTERVAL_MS) / 1000 + 5;
/** How long the failover controller takes to notice the dead primary before promoting (CNPG: seconds). */
const PROMOTE_AFTER_MS = 2_000;
/** Long enough for the others to declare the node down (net_ticktime 10 s: after 10–13 s). */
const PARTITION_MS = 20_000;
/** The figures as JSON, beside the chaos suite's report (dist/). */
export const REPORT = path.resolve(__dirname, '../../ha-report.json');

let s: HaStack;
let queue: string;
const figures: Figures[] = [];

before(async () => {
  s = await startHaStack();
  queue = queuesFor(buildTopology(s.c.t.prefix, taskTypes([extension]), 10), ['test.record'])[0]!.name;
});

after(async () => {
  if (figures.length > 0) {
    const md = table(figures);
    process.stdout.write(`\nHA scenarios: ${TASKS} test.record tasks at ${RATE}/s each; stack up in ${s?.startup.services ?? '?'} s (${JSON.stringify(s?.startup)})\n${md}\n`);
    fs.writeFileSync(REPORT, JSON.stringify({ at: new Date().toISOString(), startup: s?.startup, figures }, null, 2));
  }
  await s?.close();
});

/** The invariants of every scenario. */
function assertKept(f: Figures, opts: { all202?: boolean } = {}): void {
  assert.equal(f.lost, 0, 'lost = 0');
  assert.equal(f.duplicateEffects, 0, 'duplicate effects = 0');
  assert.equal(f.effectMismatch, 0, 'effects commit with, and only with, the completion');
  assert.equal(f.terminalLeft, 0, 'no task left a terminal state');
  assert.equal(f.done, f.accepted, 'every accepted task is done');
  assert.equal(f.duplicateExecutions, 0, 'every re-execution is explained by a recorded attempt');
  assert.deepEqual(f.processExits, [], 'no process exited');
  for (const p of s.c.procs) assert.equal(p.p.child.exitCode, null, `${p.name} still running`);
  // Recovery within the lease, per task: the worst case is an attempt whose outcome could not be
  // recorded, taken back by the reaper once its lease expires and run again.
  assert.ok(f.recoverySeconds !== null, 'every accepted task finished');
  assert.ok(f.maxTaskSeconds <= TASK_BOUND_SECONDS, `no task took longer than lease + reap interval + a run (${TASK_BOUND_SECONDS}s) from 202 to done (${f.maxTaskSeconds}s)`);
  assert.ok(f.notReadySeconds <= LEASE_SECONDS, `every process ready again within the lease (${f.notReadySeconds}s)`);
  if (opts.all202) {
    assert.deepEqual(f.rejected, {}, 'the API accepted every task (the row is the outbox while the broker fails over)');
    assert.equal(f.accepted, TASKS, 'every request was answered 202');
  }
}

async function killNode(n: RabbitNode): Promise<void> {
  await podman(['kill', n.name]);
}

/** Restarts a killed node; seconds until the cluster runs 3 nodes and the queue has 3 online members. */
async function rejoin(n: RabbitNode): Promise<number> {
  const t0 = Date.now();
  await podman(['start', n.name]);
  return healed(t0);
}

test('1: the RabbitMQ node leading the task queue is killed under load, then rejoins', async (t) => {
  const victim = await s.rabbit.leaderOf(queue);
  const f = await underLoad(s, '1 broker: queue leader killed', async () => {
    await killNode(victim);
    return { victim: victim.name };
  });
  const newLeader = (await s.rabbit.leaderOf(queue)).name;
  f.newLeader = newLeader;
  f.rejoinSeconds = await rejoin(victim);
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.notEqual(newLeader, victim.name, 'another node leads the queue');
  assertKept(f, { all202: true });
});

test("2a: the RabbitMQ node holding the API's connection is killed under load", async (t) => {
  const pid = s.api.p.child.pid;
  const conns = await s.rabbit.connectionNodes(`tasker-api `);
  const mine = conns.filter((x) => x.name.endsWith(`pid=${pid}`));
  assert.equal(mine.length, 1, `one broker connection of the API (${JSON.stringify(conns)})`);
  const victim = mine[0]!.node;
  const f = await underLoad(s, "2a broker: API's node killed", async () => {
    await killNode(victim);
    return { victim: victim.name };
  });
  const moved = (await s.rabbit.connectionNodes(`tasker-api `)).filter((x) => x.name.endsWith(`pid=${pid}`));
  f.rejoinSeconds = await rejoin(victim);
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.equal(moved.length, 1, 'the API reconnected');
  assert.notEqual(moved[0]!.node.name, victim.name, 'to a surviving node');
  assertKept(f, { all202: true });
});

test("2b: the RabbitMQ node holding a worker's connection is killed under load (worker given the node list)", async (t) => {
  const w = s.workers[1]!;
  const pid = w.p.child.pid;
  const mine = (await s.rabbit.connectionNodes(`tasker-worker `)).filter((x) => x.name.endsWith(`pid=${pid}`));
  assert.equal(mine.length, 1, 'one broker connection of worker2');
  const victim = mine[0]!.node;
  const f = await underLoad(s, "2b broker: worker's node killed", async () => {
    await killNode(victim);
    return { victim: victim.name };
  });
  const moved = (await s.rabbit.connectionNodes(`tasker-worker `)).filter((x) => x.name.endsWith(`pid=${pid}`));
  f.rejoinSeconds = await rejoin(victim);
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.equal(moved.length, 1, 'worker2 reconnected');
  assert.notEqual(moved[0]!.node.name, victim.name, 'to the next node of its list');
  const executedBy = await s.c.t.db.raw<{ rows: { n: string }[] }>(
    `SELECT count(*) AS n FROM test_executions WHERE pid = ? AND at > now() - interval '60 seconds'`,
    [pid!],
  );
  assert.ok(Number(executedBy.rows[0]?.n) > 0, 'worker2 kept running tasks after the kill');
  assertKept(f, { all202: true });
});

/** Waits until the cluster runs 3 nodes again and the queue has 3 online members; seconds since `t0`. */
async function healed(t0: number): Promise<number> {
  await s.rabbit.waitRunning(3, 180_000);
  await waitFor(`${queue} has 3 online members`, async () => (await s.rabbit.onlineMembers(queue)).length === 3, 120_000, 1_000);
  return Math.round((Date.now() - t0) / 100) / 10;
}

test('4a: the queue leader is cut off the network under load (pause_minority pauses it); it rejoins by itself', async (t) => {
  const victim = await s.rabbit.leaderOf(queue);
  let reconnected: Promise<number> = Promise.resolve(0);
  const f = await underLoad(s, '4a broker: leader partitioned 20 s', async () => {
    await podman(['network', 'disconnect', NETWORK, victim.name]);
    // the partition lasts PARTITION_MS, overlapping the rest of the load, then heals
    reconnected = new Promise((r) => setTimeout(r, PARTITION_MS)).then(() => podman(['network', 'connect', NETWORK, victim.name])).then(() => Date.now());
    return { victim: victim.name };
  });
  f.newLeader = (await s.rabbit.leaderOf(queue)).name;
  const minority = await podman(['logs', victim.name]).then((l) => /minority/i.test(l), () => false);
  f.rejoinSeconds = await healed(await reconnected);
  f.pausedItself = minority;
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.ok(minority, 'pause_minority: the cut-off node saw it was in a minority and paused');
  assert.notEqual(f.newLeader, victim.name, 'the majority elected another leader');
  assertKept(f, { all202: true });
});

test('4b: the queue leader is frozen (podman pause) under load, then resumed', async (t) => {
  const victim = await s.rabbit.leaderOf(queue);
  const majority = s.rabbit.nodes.find((n) => n !== victim)!;
  let resumed: Promise<number> = Promise.resolve(0);
  let leaderWhileFrozen: Promise<string> = Promise.resolve('');
  const f = await underLoad(s, '4b broker: leader frozen 20 s', async () => {
    await podman(['pause', victim.name]);
    // the leader as the majority sees it near the end of the freeze
    leaderWhileFrozen = new Promise((r) => setTimeout(r, PARTITION_MS - 4_000)).then(() => s.rabbit.leaderOf(queue, majority).then((n) => n.name, () => '?'));
    resumed = new Promise((r) => setTimeout(r, PARTITION_MS)).then(() => podman(['unpause', victim.name])).then(() => Date.now());
    return { victim: victim.name };
  });
  // Recorded, not asserted: seen both ways on RabbitMQ 3.10 (whether the majority elects a new leader
  // while the old one is frozen); Tasker's figures must hold either way.
  f.newLeader = await leaderWhileFrozen;
  const t0 = await resumed;
  // A frozen node sees no partition while frozen and finds the others at once when resumed, so
  // pause_minority has nothing to act on; when the others had declared it down meanwhile, both
  // sides record a partition that stays. RabbitMQ's remedy for the side that lost it: restart that
  // node's app (it then resyncs from the majority). Seen both ways, so wait for one or the other.
  let partitioned = false;
  await waitFor('the resumed node back in the cluster, or a partition recorded', async () => {
    for (const n of s.rabbit.nodes) if ((await s.rabbit.partitions(n).catch(() => 0)) > 0) partitioned = true;
    return partitioned || ((await s.rabbit.runningNodes(victim).catch(() => [])).length === 3 && (await s.rabbit.partitions(victim)) === 0);
  }, 60_000, 1_000);
  if (partitioned) await s.rabbit.restartApp(victim);
  f.partitionRecorded = partitioned;
  f.rejoinSeconds = await healed(t0);
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.equal(await s.rabbit.partitions(), 0, 'no partition left');
  assertKept(f, { all202: true });
});

test('3: the PostgreSQL primary is killed under load, the synchronous standby promoted; the old primary rejoins as standby', async (t) => {
  const [p1, p2] = s.pg.servers;
  assert.equal(await s.pg.isPrimary(p1), true);
  assert.equal(await s.pg.isPrimary(p2), false);
  let promotedAfter = 0;
  const f = await underLoad(s, '3 database: primary killed, standby promoted', async () => {
    const t0 = Date.now();
    await podman(['kill', p1.name]);
    await new Promise((r) => setTimeout(r, PROMOTE_AFTER_MS));
    await s.pg.promote(p2);
    promotedAfter = (Date.now() - t0) / 1000;
    return { promotedAfterSeconds: Math.round(promotedAfter * 10) / 10 };
  });
  const t0 = Date.now();
  f.rejoinedBy = await s.pg.rejoinAsStandby(p1, p2);
  f.rejoinSeconds = Math.round((Date.now() - t0) / 100) / 10;
  f.twoPrimariesSeen = s.agent.twoPrimariesSeen();
  figures.push(f);
  t.diagnostic(JSON.stringify(f));
  assert.equal(await s.pg.isPrimary(p2), true, 'the promoted standby is the primary');
  assert.equal(await s.pg.isPrimary(p1), false, 'the old primary came back as a standby');
  assert.deepEqual(await s.pg.standbys(p2), [`${p1.name}:sync`], 'and is synchronous again');
  assert.equal(f.twoPrimariesSeen, 0, 'never two primaries');
  for (const code of Object.keys(f.rejected)) assert.equal(code, '503', 'refusals are 503 (retry later), nothing else');
  assert.deepEqual(f.retryAfter.filter((x) => !/^\d+$/.test(x)), [], 'every 503 says when to retry (Retry-After)');
  assert.ok(f.accepted > TASKS / 2, `the API kept accepting around the failover (${f.accepted} accepted)`);
  assertKept(f);
});
