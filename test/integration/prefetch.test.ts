/**
 * Worker credit against a real broker: with WORKER_CONCURRENCY=1 and WORKER_PREFETCH=3, one task
 * runs, three more messages wait in the worker unacked, and the rest stay ready in the queue for
 * other workers — prefetch bounds what one worker hoards, concurrency what it runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { submitTask } from '../support/api-client';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';
import { messageCount } from '../support/rabbitmq';

describe('worker prefetch', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let base: string;

  before(async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    t = await createTestEnv({
      PORT: String(port),
      WORKER_ADMIN_PORT: String(adminPort),
      WORKER_TASK_TYPES: 'test.record',
      WORKER_CONCURRENCY: '1',
      WORKER_PREFETCH: '3',
      DRAIN_TIMEOUT_MS: '200',
    });
    api = await startReady('api', t.env, port);
    worker = await startReady('worker', t.env, adminPort);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await t?.cleanup();
  });

  it('runs `concurrency` tasks, holds `prefetch` more, and leaves the rest ready', async () => {
    const queue = queuesFor(buildTopology(t.prefix, taskTypes(true), 10), ['test.record'])[0]!.name;
    for (let i = 0; i < 7; i++) await submitTask(base, { type: 'test.record', payload: { mode: 'sleep', durationMs: 20_000 } });
    const processing = async () =>
      Number((await t.db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM tasks WHERE status = 'processing'`)).rows[0]!.n);
    await waitFor('one task running', async () => (await processing()) === 1);
    // 7 submitted: 1 running (acked once claimed), 3 held unacked by the worker, 3 still ready.
    await waitFor('three messages ready', async () => (await messageCount(queue)) === 3);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await processing(), 1, 'concurrency bounds the running tasks');
    assert.equal(await messageCount(queue), 3, 'prefetch bounds the messages one worker holds');
  });
});
