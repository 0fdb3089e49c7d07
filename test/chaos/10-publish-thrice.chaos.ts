/**
 * Scenario 10 — every message published three times (FAULT_INJECTION=publish-thrice on the API).
 * Criterion: exactly one execution per task (the claim's compare-and-set absorbs the duplicates),
 * and every duplicate message is consumed (queue empty at the end).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/infra';
import { messageCount } from '../support/rabbitmq';
import { assertNoLossNoDuplicateEffect, createCluster, publish, round, type Cluster } from './support/harness';

const TASKS = 300;
let c: Cluster;

before(async () => {
  c = await createCluster();
  await c.startApi({ FAULT_INJECTION: 'publish-thrice' });
  await Promise.all([c.startWorker(), c.startWorker()]);
});
after(() => c?.close());

test('scenario 10: every message published three times', async (t) => {
  const t0 = performance.now();
  const load = await c.load({ count: TASKS, concurrency: 16, maxMs: 60_000, body: () => ({ type: 'test.record', payload: { mode: 'record', durationMs: 20 } }) });
  assert.equal(load.accepted.length, TASKS);
  await c.waitTerminal(load.accepted, 60_000);
  await waitFor('duplicates consumed', async () => (await messageCount(`${c.t.prefix}.q.test`)) === 0, 20_000, 200);
  const dropped = c.logs().filter((l) => l.msg.startsWith('task not claimable')).length; // debug level: usually 0
  const r = await c.report('10-publish-thrice', load.accepted, {
    extra: {
      messagesPublished: TASKS * 3,
      queueDepthAtEnd: await messageCount(`${c.t.prefix}.q.test`),
      duplicateMessagesDroppedLogged: dropped,
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.done, TASKS);
  assert.equal(r.executions, TASKS, 'exactly one execution per task');
  assert.equal(r.duplicateExecutions, 0);
  const attempts = await c.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE id = ANY(?::uuid[]) AND attempts <> 1`, [load.accepted]);
  assert.equal(Number(attempts.rows[0]?.n), 0, 'every task claimed once (attempts = 1)');
});
