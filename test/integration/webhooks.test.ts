/**
 * Signed completion webhooks against real processes and a local receiver (admitted by
 * WEBHOOK_ALLOWED_CIDRS=127.0.0.1/32; every other internal address stays refused): delivered and
 * signed per Standard Webhooks, retried after a 500 and after a timeout with the same webhook-id,
 * recorded as failed when the attempts run out and redelivered on request, redirects not followed,
 * every SSRF class refused without a connection, and a delivery that outlives the API process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '../support/infra';
import { getTask, submitTask } from '../support/api-client';
import { sample } from '../support/prom-text';
import { freePort, startReady, startService } from '../support/processes';
import { startStack, type Stack } from '../support/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const postTask = (base: string, body: unknown) =>
  fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const SECRET = `whsec_${Buffer.from('tasker-webhook-test-secret-0123456789').toString('base64')}`;

interface Delivery {
  id: string;
  status: string;
  attempts: number;
  task_status: string;
  last_status: number | null;
  last_error: string | null;
}
interface TaskView {
  task_id: string;
  status: string;
  callback?: { url: string; deliveries: Delivery[] } | null;
}

describe('completion webhooks', () => {
  let s: Stack;
  let rx: WebhookReceiver;
  const settings = {
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '100',
    WEBHOOK_POLL_MS: '100',
  };

  before(async () => {
    rx = await startWebhookReceiver();
    s = await startStack(settings);
  });
  after(async () => {
    await s?.stop();
    await rx?.close();
  });

  const submitWithCallback = (callback: string, payload: Record<string, unknown> = { mode: 'record' }) =>
    submitTask(s.base, { type: 'test.record', payload, callback });
  /** The task's one delivery once it is no longer pending. */
  const settled = (id: string, timeoutMs = 20_000) =>
    waitFor(
      `delivery of ${id} settled`,
      async () => {
        const d = (await getTask<TaskView>(s.base, id)).callback?.deliveries[0];
        return d && d.status !== 'pending' ? d : null;
      },
      timeoutMs,
    );
  const requestsTo = (path: string) => rx.received.filter((r) => r.path === path);
  const verify = (r: { headers: Record<string, unknown>; body: string }) =>
    new Webhook(SECRET).verify(r.body, r.headers as Record<string, string>) as { type: string; data: TaskView };

  it('delivers a signed POST when the task is done, and shows the delivery on the task', async () => {
    const id = await submitWithCallback(`${rx.base}/ok`);
    const d = await settled(id);
    assert.deepEqual([d.status, d.attempts, d.task_status, d.last_status], ['delivered', 1, 'done', 204]);
    const [req] = requestsTo('/ok');
    assert.ok(req);
    const event = verify(req);
    assert.equal(event.type, 'task.finished');
    assert.deepEqual([event.data.task_id, event.data.status], [id, 'done']);
    assert.equal(req.headers['webhook-id'], d.id);
    assert.throws(() => new Webhook(SECRET).verify(req.body.replace('done', 'fail'), req.headers as Record<string, string>), 'a changed body fails verification');
  });

  it('retries after a 500 with the same webhook-id', async () => {
    rx.respond('/fail-once', (n) => (n === 1 ? 500 : 200));
    const id = await submitWithCallback(`${rx.base}/fail-once`);
    const d = await settled(id);
    assert.deepEqual([d.status, d.attempts, d.last_status], ['delivered', 2, 200]);
    const reqs = requestsTo('/fail-once');
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]!.headers['webhook-id'], reqs[1]!.headers['webhook-id']);
    for (const r of reqs) verify(r);
  });

  it('retries after a timeout', async () => {
    rx.respond('/slow-once', (n) => (n === 1 ? 'hang' : 200));
    const id = await submitWithCallback(`${rx.base}/slow-once`);
    const d = await settled(id);
    assert.deepEqual([d.status, d.attempts], ['delivered', 2]);
    assert.equal(requestsTo('/slow-once').length, 2);
  });

  it('records a failure when the attempts run out, lists it, and redelivers it on request', async () => {
    let healthy = false;
    rx.respond('/down', () => (healthy ? 200 : 503));
    const id = await submitWithCallback(`${rx.base}/down`, { mode: 'permanent' });
    const d = await settled(id);
    assert.deepEqual([d.status, d.attempts, d.task_status, d.last_status, d.last_error], ['failed', 3, 'failed', 503, 'HTTP 503']);
    const listed = (await (await fetch(`${s.base}/webhooks/deliveries?status=failed`)).json()) as { deliveries: Delivery[] };
    assert.ok(listed.deliveries.some((x) => x.id === d.id));
    healthy = true;
    const r = await fetch(`${s.base}/webhooks/deliveries/${d.id}/redeliver`, { method: 'POST' });
    assert.equal(r.status, 202);
    const again = await settled(id);
    assert.deepEqual([again.status, again.attempts, again.last_status], ['delivered', 1, 200]);
    assert.equal(requestsTo('/down').length, 4);
    assert.equal((await fetch(`${s.base}/webhooks/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, { method: 'POST' })).status, 404);
  });

  it('does not follow a redirect', async () => {
    rx.respond('/moved', () => 302);
    const id = await submitWithCallback(`${rx.base}/moved`);
    const d = await settled(id);
    assert.equal(d.status, 'failed');
    assert.match(d.last_error ?? '', /redirects are not followed/);
    assert.equal(requestsTo('/redirect-target').length, 0);
  });

  it('refuses every internal address class without connecting', async () => {
    const port = new URL(rx.base).port;
    const targets: [string, RegExp][] = [
      [`http://127.0.0.2:${port}/x`, /loopback/],
      [`http://[::1]:${port}/x`, /loopback/],
      [`http://[::ffff:127.0.0.2]:${port}/x`, /loopback/],
      ['http://10.1.2.3/x', /private/],
      ['http://172.16.0.1/x', /private/],
      ['http://192.168.1.1/x', /private/],
      ['http://[fc00::1]/x', /private/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://[fe80::1]/x', /link-local/],
      ['http://0.0.0.0/x', /unspecified/],
    ];
    const refusedBefore = sample(await (await fetch(`${s.base}/metrics`)).text(), 'tasker_webhook_deliveries_total', { outcome: 'refused' }) ?? 0;
    const ids = await Promise.all(targets.map(([url]) => submitWithCallback(url)));
    for (const [i, id] of ids.entries()) {
      const d = await settled(id);
      assert.equal(d.status, 'failed', targets[i]![0]);
      assert.equal(d.attempts, 1, 'a refused target is not retried');
      assert.match(d.last_error ?? '', targets[i]![1], targets[i]![0]);
    }
    assert.equal(rx.received.filter((r) => r.path === '/x').length, 0, 'no request reached the receiver');
    const refused = sample(await (await fetch(`${s.base}/metrics`)).text(), 'tasker_webhook_deliveries_total', { outcome: 'refused' }) ?? 0;
    assert.equal(refused - refusedBefore, targets.length);
  });

  it('refuses a callback that is not an http(s) URL, naming the field', async () => {
    const r = await postTask(s.base, { type: 'test.record', payload: {}, callback: 'file:///etc/passwd' });
    assert.equal(r.status, 422);
    const e = ((await r.json()) as { error: { details: { issues: { path: string }[] } } }).error;
    assert.equal(e.details.issues[0]?.path, 'callback');
  });

  it('delivers a task that finished while no API process was running (the outbox)', async () => {
    const port = await freePort();
    const env = { ...s.t.env, ...settings, PORT: String(port) };
    const api = await startReady('api', env, port);
    const id = await submitTask(`http://127.0.0.1:${port}`, { type: 'test.record', payload: { mode: 'sleep', durationMs: 300 }, callback: `${rx.base}/later` });
    await s.api.stop('SIGKILL'); // the stack's own API too: no process that could deliver
    await api.stop('SIGKILL');
    await waitFor(`task ${id} done`, async () => (await s.t.db.raw<{ rows: { status: string }[] }>(`SELECT status FROM tasks WHERE id = ?`, [id])).rows[0]?.status === 'done');
    assert.equal(requestsTo('/later').length, 0);
    const again = startService('api', env);
    try {
      await waitFor('the delivery after the restart', () => Promise.resolve(requestsTo('/later').length === 1), 30_000);
      assert.equal(verify(requestsTo('/later')[0]!).data.task_id, id);
    } finally {
      await again.stop();
    }
  });

  it('keeps delivering to other endpoints while one endpoint hangs (a pool of slots, not rounds)', async () => {
    // Runs after the outbox test: the stack's API is gone, so this API is the only deliverer.
    const port = await freePort();
    const api = await startReady('api', { ...s.t.env, ...settings, PORT: String(port), WEBHOOK_TIMEOUT_MS: '60000', WEBHOOK_CONCURRENCY: '2' }, port);
    try {
      const at = `http://127.0.0.1:${port}`;
      rx.respond('/hangs', () => 'hang');
      await submitTask(at, { type: 'test.record', payload: { mode: 'record' }, callback: `${rx.base}/hangs` });
      await waitFor('the hanging attempt', () => Promise.resolve(rx.hanging() === 1));
      const others = await Promise.all([1, 2, 3].map(() => submitTask(at, { type: 'test.record', payload: { mode: 'record' }, callback: `${rx.base}/meanwhile` })));
      await waitFor('the other deliveries', () => Promise.resolve(requestsTo('/meanwhile').length === others.length));
      assert.equal(rx.hanging(), 1, 'delivered while the first attempt still hangs');
    } finally {
      rx.unhang();
      await api.stop();
    }
  });
});

describe('a task with a callback on an API without WEBHOOK_SECRET', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await s?.stop();
  });

  it('is refused with 422 webhooks_not_configured', async () => {
    const r = await postTask(s.base, { type: 'test.record', payload: {}, callback: 'https://hooks.example.com/x' });
    assert.equal(r.status, 422);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'webhooks_not_configured');
  });
});
