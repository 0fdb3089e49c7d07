/**
 * Worker credit against a real broker: with WORKER_CONCURRENCY=1 and WORKER_PREFETCH=3, one task
 * runs, three more messages wait in the worker unacked, and the rest stay ready in the queue for
 * other workers — prefetch bounds what one worker hoards, concurrency what it runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { extension } from '../plugin/test-extension';
import { taskTypes } from '../../services/core/tasks/task-types';
import { submitTask } from '../support/api-client';
import { waitFor } from '../support/infra';
import { queueState } from '../support/rabbitmq';
import { startStack, type Stack } from '../support/stack';

describe('worker prefetch', () => {
  let s: Stack;

  before(async () => {
    s = await startStack({
      WORKER_TASK_TYPES: 'test.record',
      WORKER_CONCURRENCY: '1',
      WORKER_PREFETCH: '3',
      DRAIN_TIMEOUT_MS: '200',
      LEASE_MS: '3000',
      HEARTBEAT_MS: '300',
    });
  });
  after(() => s?.stop());

  it('runs `concurrency` tasks, holds `prefetch` more, and leaves the rest ready', async () => {
    const queue = queuesFor(buildTopology(s.t.prefix, taskTypes([extension]), 10), ['test.record'])[0]!.name;
    // timeout_ms above the sleep: test.record's default 5 s timeout would end the running task mid-test on a slow machine.
    for (let i = 0; i < 7; i++) await submitTask(s.base, { type: 'test.record', timeout_ms: 60_000, payload: { mode: 'sleep', durationMs: 20_000 } });
    const processing = async () =>
      Number((await s.t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing'`)).rows[0]!.n);
    await waitFor('one task running', async () => (await processing()) === 1);
    // 7 submitted: 1 running (acked once claimed), 3 held unacked by the worker, 3 still ready.
    await waitFor('three messages ready, three held by the worker', async () => {
      const q = await queueState(queue);
      return q.ready === 3 && q.unacked === 3;
    });
    // Positive signal before the negative checks: the running task's lease is extended (a
    // heartbeat, every 300 ms) after the worker received the three messages it holds, so the
    // worker has been running with them in hand — a worker that ran them would have claimed them.
    const leaseNow = async () =>
      (await s.t.db.raw<{ rows: { at: Date }[] }>(`SELECT lease_expires_at AS at FROM tasks WHERE status = 'processing'`)).rows[0]!.at.getTime();
    const seen = await leaseNow();
    await waitFor('a heartbeat after the deliveries', async () => (await leaseNow()) > seen);
    assert.equal(await processing(), 1, 'concurrency bounds the running tasks');
    assert.deepEqual(await queueState(queue), { ready: 3, unacked: 3 }, 'prefetch bounds the messages one worker holds');
  });
});
