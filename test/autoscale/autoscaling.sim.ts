/**
 * The autoscaling simulation (issue 13; `npm run test:autoscale`, run by .ci/run after the chart
 * checks have installed helm): real API and worker processes on the real PostgreSQL and RabbitMQ,
 * scaled by controller.ts exactly as the rendered chart says (test/autoscale/sim-values.yaml).
 *
 * - Before (sim-before-values.yaml: queue depth only, a drain shorter than the long tasks): the
 *   simulation sees long tasks cut on scale-down — the defect it exists to catch.
 * - The chart as shipped: a burst of 1,500 short tasks, then 6 long ones (20 s; the chart derives a
 *   25 s drain and 30 s grace from maxTaskSeconds 20). The group scales up within two polls, drains
 *   the backlog, scales in while the long tasks run without cutting one, reaches its minimum (0)
 *   after the cooldown, and every task ends `done` with attempts = 1.
 * - All groups at zero: a retry that becomes due wakes the group and runs within a bounded time.
 * Prints the timeline and writes it as SVG (AUTOSCALE_TIMELINE_SVG, default dist/autoscaling-timeline.svg).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { createController, cutTasks } from './controller';
import { hpaPolicy, kedaPolicy, type RenderedGroup } from './scaling-policies';
import { timelineSvg } from './timeline-svg';

const ROOT = path.resolve(__dirname, '../../..');
const SHORT = 1_500;
const LONG = 6;
const LONG_MS = 20_000;
const log = (l: string) => process.stdout.write(`${l}\n`);

function renderGroup(prefix: string, extraValues: string[]): RenderedGroup {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tasker-sim-'));
  const prefixValues = path.join(dir, 'prefix-values.yaml');
  writeFileSync(prefixValues, `config:\n  AMQP_PREFIX: ${prefix}\n`);
  const helm = process.env.HELM ?? path.join(os.homedir(), '.cache/tasker-tools/helm');
  const files = [path.join(ROOT, 'test/autoscale/sim-values.yaml'), ...extraValues.map((f) => path.join(ROOT, f)), prefixValues];
  const out = execFileSync('node', [path.join(ROOT, '.ci/checks.d/render-autoscaling.mjs'), ...files], { encoding: 'utf8', env: { ...process.env, HELM: helm } });
  return (JSON.parse(out) as { groups: RenderedGroup[] }).groups[0]!;
}

async function submitAll(base: string, bodies: object[], parallel = 16): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const r = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(r.status, 202, await r.clone().text());
        ids.push(((await r.json()) as { task_id: string }).task_id);
      }
    }),
  );
  return ids;
}

interface Sim {
  t: TestEnv;
  api: ServiceProcess;
  base: string;
  group: RenderedGroup;
  controller: ReturnType<typeof createController>;
  stop(): Promise<void>;
}

async function startSim(extraValues: string[] = []): Promise<Sim> {
  const port = await freePort();
  const t = await createTestEnv({ PORT: String(port), SWEEP_INTERVAL_MS: '500', REAP_INTERVAL_MS: '1000', QUEUE_METRICS_INTERVAL_MS: '500', LOG_LEVEL: 'warn' });
  const group = renderGroup(t.prefix, extraValues);
  const base = `http://127.0.0.1:${port}`;
  const policy = group.scaledObject ? kedaPolicy(group, t.db) : hpaPolicy(group, () => [base]);
  const triggers = group.scaledObject?.triggers.map((x) => x.type).join('+') ?? `External ${group.hpa!.metrics[0]!.external.metric.name}`;
  log(`rendered ${policy.kind}: ${triggers}, poll ${policy.pollMs} ms, cooldown ${policy.cooldownSeconds ?? '-'} s, stabilisation ${policy.stabilizationSeconds} s, replicas ${policy.min}..${policy.max}, drain ${group.env.DRAIN_TIMEOUT_MS} ms, grace ${group.graceSeconds} s`);
  const api = await startReady('api', t.env, port);
  const controller = createController({ group, policy, db: t.db, workerEnv: t.env, log });
  controller.start();
  return {
    t,
    api,
    base,
    group,
    controller,
    async stop() {
      await controller.stop();
      await api.stop();
      await t.cleanup();
    },
  };
}

/** Short tasks first; the long ones once the backlog is nearly drained, so scale-in meets them running. */
async function burst(sim: Sim): Promise<{ ids: string[]; submitted: number }> {
  const submitted = Date.now();
  const ids = await submitAll(sim.base, Array.from({ length: SHORT }, () => ({ type: 'simulate', payload: { durationMs: 20 } })));
  await waitFor('the backlog nearly drained', async () => {
    const r = await sim.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'pending'`);
    return Number(r.rows[0]!.n) < 200;
  }, 120_000, 100);
  ids.push(...(await submitAll(sim.base, Array.from({ length: LONG }, () => ({ type: 'simulate', payload: { durationMs: LONG_MS } })))));
  return { ids, submitted };
}

describe('autoscaling simulation (the rendered ScaledObject, real processes)', () => {
  it('before: queue depth only and a drain shorter than the long tasks — the simulation sees them cut', async () => {
    const sim = await startSim(['test/autoscale/sim-before-values.yaml']);
    try {
      await burst(sim);
      const cut = await waitFor('a long task cut by a scale-down', () => Promise.resolve(sim.controller.replicas.reduce((n, r) => n + cutTasks(r), 0)), 90_000, 200);
      log(`before: ${cut} long task(s) interrupted by a scale-down (the defect)`);
    } finally {
      await sim.stop();
    }
  });

  /** The burst, as shipped: up within two polls, drained, scaled in while long tasks run without a cut, back to the minimum. */
  async function shippedBurst(sim: Sim): Promise<void> {
    const { controller, group, t } = sim;
    const poll = sim.controller.pollMs;
    assert.ok(group.graceSeconds * 1000 > LONG_MS, 'the rendered grace outlasts the long tasks');
    // Steady state first: an HPA group runs its minReplicas (≥ 1) before any work arrives.
    await waitFor('the group at its minimum', () => Promise.resolve(controller.samples.length > 0 && controller.current() === controller.minReplicas), 60_000, 100);
    const { ids, submitted } = await burst(sim);
    const decided = controller.samples.find((s) => s.desired > controller.minReplicas)!;
    const decidedAfter = Math.round(decided.t * 1000 - (submitted - controller.startedAt));
    log(`scale-up decided ${decidedAfter} ms after the burst began`);
    assert.ok(decidedAfter <= 2 * poll + 500, `scale-up decided within two polls (${2 * poll} ms)`);

    await waitFor('every task done', async () => {
      const r = await t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'done'`);
      return Number(r.rows[0]!.n) === ids.length;
    }, 180_000, 250);
    assert.ok(Math.max(...controller.samples.map((s) => s.replicas)) >= 2, 'the burst scaled the group out');
    await waitFor(`scaled down to minReplicas (${controller.minReplicas})`, () => Promise.resolve(controller.current() === controller.minReplicas), 60_000 + group.graceSeconds * 1000, 200);
    await waitFor('removed workers exited', () => Promise.resolve(controller.replicas.every((r) => !r.removed || r.removed.exit !== undefined)), group.graceSeconds * 1000 + 10_000, 100);

    const rows = (await t.db.raw<{ rows: { status: string; attempts: number; n: string }[] }>(`SELECT status, attempts, count(*) AS n FROM tasks GROUP BY 1, 2`)).rows;
    assert.deepEqual(rows.map((r) => [r.status, r.attempts, Number(r.n)]), [['done', 1, ids.length]], 'every task done on its first attempt');
    const inFlight = controller.replicas.filter((r) => (r.removed?.runningTasks ?? 0) > 0);
    log(`replicas started ${controller.replicas.length}; removed while running tasks: ${inFlight.length}; tasks cut: ${controller.replicas.reduce((n, r) => n + cutTasks(r), 0)}; SIGKILLed: ${controller.replicas.filter((r) => r.removed?.killed).length}`);
    assert.ok(inFlight.length > 0, 'a replica was removed while it ran long tasks (the case under test)');
    for (const r of controller.replicas.filter((x) => x.removed)) {
      assert.equal(cutTasks(r), 0, `pid ${r.proc.child.pid} cut no task`);
      assert.equal(r.removed?.killed, false, `pid ${r.proc.child.pid} drained within the grace period`);
      assert.equal(r.removed?.exit, 0, `pid ${r.proc.child.pid} exited 0`);
    }
  }

  const writeTimeline = (sim: Sim, file: string, title: string) => {
    writeFileSync(file, timelineSvg(sim.controller.samples, title));
    log(`timeline written to ${file}`);
  };

  it('keda, as shipped: scales up within two polls, drains, scales in while long tasks run without cutting one, reaches zero; then a due retry at zero runs', async () => {
    const sim = await startSim();
    const { controller, group, t } = sim;
    try {
      await shippedBurst(sim);
      // All groups at zero: what `fail` leaves when an attempt failed and the group then went to zero.
      const id = randomUUID();
      await t.db.raw(
        `INSERT INTO tasks (id, type, payload, attempts, max_attempts, timeout_ms, run_after) VALUES (?, 'simulate', '{"durationMs": 10}', 1, 3, 60000, now() + interval '2 seconds')`,
        [id],
      );
      const dueAt = Date.now() + 2_000;
      const BOUND_MS = 20_000;
      await waitFor('the due retry to run', async () => {
        const r = await t.db.raw<{ rows: { status: string }[] }>(`SELECT status FROM tasks WHERE id = ?`, [id]);
        return r.rows[0]?.status === 'done';
      }, 2_000 + BOUND_MS, 100);
      log(`due retry done ${Date.now() - dueAt} ms after it became due (bound ${BOUND_MS} ms)`);
      await waitFor('back to zero', () => Promise.resolve(controller.current() === 0), 60_000 + group.graceSeconds * 1000, 200);
    } finally {
      writeTimeline(sim, process.env.AUTOSCALE_TIMELINE_SVG ?? path.join(ROOT, 'dist/autoscaling-timeline.svg'), `KEDA mode: ${SHORT} short + ${LONG} × ${LONG_MS / 1000} s tasks, then a due retry at zero`);
      await sim.stop();
    }
  });

  it('hpa, as shipped: the HPA on the API gauge scales up within two scrapes, scales in while long tasks run without cutting one, returns to its minimum', async () => {
    const sim = await startSim(['test/autoscale/sim-hpa-values.yaml']);
    try {
      await shippedBurst(sim);
    } finally {
      const file = (process.env.AUTOSCALE_TIMELINE_SVG ?? path.join(ROOT, 'dist/autoscaling-timeline.svg')).replace(/\.svg$/, '-hpa.svg');
      writeTimeline(sim, file, `HPA mode (tasker_scaling_work_tasks): ${SHORT} short + ${LONG} × ${LONG_MS / 1000} s tasks`);
      await sim.stop();
    }
  });
});
