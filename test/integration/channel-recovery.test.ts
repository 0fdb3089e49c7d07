/**
 * Channels the broker closes on its own (issue 12, item 2): a queue deleted under a consumer, an
 * exchange deleted under a publisher (the next publish closes the channel with 404), and a channel
 * that cannot come back (the queue redeclared with other arguments). Connections stay up throughout,
 * so only channel-level recovery can help; the liveness backstop covers what it cannot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { getTask, submitTask } from '../support/api-client';
import { RABBITMQ_URL, waitFor } from '../support/infra';
import { startStack, type Stack } from '../support/stack';

async function onBroker(fn: (ch: amqp.Channel) => Promise<unknown>): Promise<void> {
  const c = await amqp.connect(RABBITMQ_URL);
  try {
    await fn(await c.createChannel());
  } finally {
    await c.close().catch(() => undefined);
  }
}

describe('channels closed by the broker', () => {
  let s: Stack;
  let queue: string;
  let exchange: string;
  before(async () => {
    s = await startStack({ WORKER_TASK_TYPES: 'test.record', SWEEP_INTERVAL_MS: '200', SWEEP_UNCONFIRMED_AFTER_MS: '500', LIVENESS_STALL_MS: '3000' });
    const topology = buildTopology(s.t.prefix, taskTypes([extension]), 10);
    queue = queuesFor(topology, ['test.record'])[0]!.name;
    exchange = topology.exchange;
  });
  after(() => s?.stop());

  const done = (id: string) => waitFor(`task ${id} done`, async () => (await getTask<{ status: string }>(s.base, id)).status === 'done', 20_000);

  it('a queue deleted under the consumer: the worker redeclares it and consumes again', async () => {
    await onBroker((ch) => ch.deleteQueue(queue));
    await s.worker.waitForLog('the consumer cancelled by the broker', (l) => /cancelled by the broker/.test(l.msg), 10_000);
    await done(await submitTask(s.base, { type: 'test.record', payload: { mode: 'record' } }));
  });

  it("an exchange deleted under the API's publisher: its channel reopens, the topology is asserted again, /ready returns to 200", async () => {
    await onBroker((ch) => ch.deleteExchange(exchange));
    const id = await submitTask(s.base, { type: 'test.record', payload: { mode: 'record' } });
    await s.api.waitForLog('the publish channel closed by the broker', (l) => /publish channel (error|closed)/.test(l.msg), 10_000);
    await waitFor('API ready again', async () => (await fetch(`${s.base}/ready`)).status === 200, 15_000);
    await done(id);
  });

  it('a consumer that cannot come back fails liveness, so an orchestrator restarts the worker', async () => {
    assert.equal((await fetch(`${s.workerBase}/health`)).status, 200);
    // Redeclared as a classic queue: the worker's quorum declaration now fails with PRECONDITION_FAILED.
    await onBroker(async (ch) => {
      await ch.deleteQueue(queue);
      await ch.assertQueue(queue, { durable: true });
    });
    await waitFor('worker /health 503', async () => (await fetch(`${s.workerBase}/health`)).status === 503, 20_000);
    const body = (await (await fetch(`${s.workerBase}/health`)).json()) as { status: string };
    assert.equal(body.status, 'stalled');
    await onBroker((ch) => ch.deleteQueue(queue));
  });
});
