/**
 * Scenario 7 — a frozen worker (SIGSTOP past its lease, then SIGCONT). Worker A claims a 1.5 s task
 * and is stopped; its lease (2 s) expires, the reaper in worker B re-queues the task, B runs it to
 * done. Then A resumes and tries to finish its stale attempt. Criterion: B's completion stands, A's
 * late completion changes nothing (fenced by the lease token), and the effect is applied once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/infra';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, sleep, transitionsOf, type Cluster } from './support/harness';

let c: Cluster;

before(async () => {
  // The frozen worker's consumer stays subscribed: RabbitMQ may hand it the re-queued message, which
  // only comes back when the broker notices the dead connection (about 2 AMQP heartbeats).
  c = await createCluster({ AMQP_HEARTBEAT_SECONDS: '2' });
  await c.startApi();
});
after(() => c?.close());

test('scenario 7: frozen worker past its lease', async (t) => {
  const t0 = performance.now();
  const a = await c.startWorker({}, { name: 'workerA' });
  const s = await c.submit({ type: 'test.record', payload: { mode: 'sleep', durationMs: 1_500 } });
  assert.equal(s.status, 202);
  const id = s.id!;
  await a.p.waitForLog('A started the task', (l) => l.task_id === id && l.msg === 'task started');
  a.p.child.kill('SIGSTOP');
  const frozenAt = Date.now();
  const b = await c.startWorker({}, { name: 'workerB' });
  await c.waitTerminal([id], 20_000);
  const doneByB = await c.getTask(id);
  const doneAt = Date.now();
  await sleep(500);
  a.p.child.kill('SIGCONT');
  const late = await a.p.waitForLog(
    'A gives up its stale attempt',
    (l) => l.task_id === id && (l.msg.startsWith('completion discarded') || l.msg.startsWith('lease lost')),
    15_000,
  ).catch(async (e: unknown) => {
    t.diagnostic(`A's logs: ${JSON.stringify(c.logs(a).slice(-12))}`);
    const act = await c.t.db.raw<{ rows: unknown[] }>(
      `SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 120) AS query, now() - state_change AS for
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    t.diagnostic(`pg_stat_activity: ${JSON.stringify(act.rows)}`);
    throw e;
  });
  await sleep(1_000); // let anything A might still write land
  const final = await c.getTask(id);
  const tr = await transitionsOf(c.t, id);
  const execs = await c.t.db.raw<{ rows: { attempt: number; pid: number }[] }>(`SELECT attempt, pid FROM test_executions WHERE task_id = ? ORDER BY at`, [id]);
  const r = await c.report('7-frozen-worker', [id], {
    since: frozenAt,
    extra: {
      frozenSeconds: round((Date.now() - frozenAt) / 1000),
      takeoverSeconds: round((doneAt - frozenAt) / 1000),
      lateOutcomeOfA: late.msg,
      executionPids: execs.rows.map((x) => (x.pid === a.p.child.pid ? `A#${x.attempt}` : x.pid === b.p.child.pid ? `B#${x.attempt}` : `?#${x.attempt}`)),
      transitions: tr.map((x) => `${x.old_status}->${x.new_status}`),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assert.equal(final.status, 'done');
  assert.deepEqual(final.result, doneByB.result, "A's late completion did not overwrite B's result");
  assert.deepEqual(final.result, { pid: b.p.child.pid, attempt: 2 }, 'B completed attempt 2');
  assert.equal(final.attempts, 2);
  assert.equal(final.errors[0]?.reason, 'crashed', 'the frozen attempt was recorded as crashed by the reaper');
  assert.deepEqual(execs.rows.map((x) => x.pid), [a.p.child.pid, b.p.child.pid], 'A ran attempt 1, B attempt 2');
  assertNoLossNoDuplicateEffect(r);
  const effects = await c.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM test_effect_applications WHERE task_id = ?`, [id]);
  assert.equal(Number(effects.rows[0]?.n), 1, 'one effect');
  assert.deepEqual(tr.map((x) => x.new_status), ['processing', 'pending', 'processing', 'done'], 'no transition after done');
  await waitFor('A still alive', () => Promise.resolve(a.p.child.exitCode === null), 1_000);
});
