/**
 * One trace per task, across processes: the API and a worker export OTLP to a receiver inside the
 * test. The POST's server span, the publish (PRODUCER), the worker's process span (CONSUMER, a
 * child of the context stored on the row, linked to the publish) and the handler span share one
 * trace id — also for a retried task and for one the sweeper republished — and both processes'
 * log lines for the task carry that trace id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor, type TestEnv } from '../support/infra';
import { renderSpanTree, startOtlpReceiver, SPAN_KIND, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { submitTask } from '../support/api-client';
import { freePort, startService, type ServiceProcess } from '../support/processes';
import { startStack, type Stack } from '../support/stack';

describe('tracing and log correlation', () => {
  let t: TestEnv;
  let otlp: OtlpReceiver;
  const procs: ServiceProcess[] = [];
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let base: string;

  let s: Stack;

  before(async () => {
    otlp = await startOtlpReceiver();
    s = await startStack({
      ...otlp.env,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '100',
      SWEEP_INTERVAL_MS: '100',
      SWEEP_UNCONFIRMED_AFTER_MS: '300',
    });
    ({ t, api, worker, base } = s);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await s?.stop();
    await otlp?.close();
  });

  const submit = (apiBase: string, payload: unknown) => submitTask(apiBase, { payload });
  const done = (id: string) =>
    waitFor(`task ${id} done`, async () => ((await (await fetch(`${base}/tasks/${id}`)).json()) as { status: string }).status === 'done');

  const spansOf = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId);
  const ofTask = (id: string, kind: number) => otlp.spans.filter((s) => s.attributes['tasker.task.id'] === id && s.kind === kind);

  /** Waits for the worker's consumer span(s) and the handler spans of the task to arrive. */
  async function traceOf(id: string, attempts: number): Promise<{ traceId: string; consumers: ReceivedSpan[] }> {
    // Each process exports in its own batches: wait until the worker's attempts, their handler
    // spans and the API's server span have all arrived.
    const consumers = await waitFor(`${attempts} consumer span(s) of ${id} and the API server span`, () => {
      const c = ofTask(id, SPAN_KIND.CONSUMER);
      const complete =
        c.length >= attempts &&
        spansOf(c[0]!.traceId).some((s) => s.kind === SPAN_KIND.SERVER) &&
        c.every((x) => otlp.spans.some((s) => s.parentSpanId === x.spanId && s.name.startsWith('task ')));
      return Promise.resolve(complete ? c : null);
    });
    return { traceId: consumers[0]!.traceId, consumers };
  }

  function assertJoined(id: string, traceId: string, consumers: ReceivedSpan[]) {
    const spans = spansOf(traceId);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER && s.service === 'tasker-api');
    assert.ok(server, 'the POST /tasks server span is in the trace');
    assert.equal(server.parentSpanId, '', 'the server span is the root');
    const publishes = ofTask(id, SPAN_KIND.PRODUCER);
    assert.ok(publishes.length >= 1, 'a publish span exists');
    for (const p of publishes) assert.equal(p.traceId, traceId, 'every publish joins the task trace');
    for (const c of consumers) {
      assert.equal(c.traceId, traceId, 'every attempt joins the task trace');
      assert.equal(c.service, 'tasker-worker');
      // Parent: the context stored on the row, i.e. a span of the API inside the request.
      const parent = byId.get(c.parentSpanId);
      assert.ok(parent, 'the consumer span has its parent in the trace');
      assert.equal(parent.service, 'tasker-api');
      assert.ok(c.links.some((l) => publishes.some((p) => p.spanId === l.spanId)), 'the consumer span links to a publish');
      const handler = spans.find((s) => s.parentSpanId === c.spanId && s.name === `task ${c.attributes['tasker.task.type'] as string}`);
      assert.ok(handler, 'the handler span is a child of the consumer span');
    }
    // The database insert (API) and the fenced completion (worker) are spans of this trace too.
    assert.ok(spans.some((s) => s.service === 'tasker-api' && s.kind === SPAN_KIND.CLIENT && /INSERT|pg/i.test(s.name)));
    assert.ok(spans.some((s) => s.service === 'tasker-worker' && s.kind === SPAN_KIND.CLIENT && consumers.some((c) => c.spanId === s.parentSpanId)));
  }

  it('puts the API request, the publish and the worker attempt in one trace', async (ctx) => {
    const id = await submit(base, { durationMs: 10 });
    await done(id);
    const { traceId, consumers } = await traceOf(id, 1);
    assertJoined(id, traceId, consumers);
    ctx.diagnostic(`trace ${traceId}\n${renderSpanTree(spansOf(traceId))}`);
    assert.equal(consumers[0]!.attributes['tasker.task.attempt'], 1);
    assert.equal(consumers[0]!.attributes['tasker.task.outcome'], 'done');
    assert.equal(consumers[0]!.attributes['messaging.system'], 'rabbitmq');

    // Logs of both processes for this task carry the same trace id.
    const apiLines = api.logs.filter((l) => l.trace_id === traceId);
    const workerLines = worker.logs.filter((l) => l.task_id === id);
    assert.ok(workerLines.length >= 2, 'worker logged the task');
    for (const l of workerLines) assert.equal(l.trace_id, traceId, `worker line "${l.msg}" carries the trace id`);
    assert.equal(apiLines.length, 0, 'the API logs nothing for a healthy submission (and nothing with a wrong id)');
  });

  it('joins every attempt of a retried task to the same trace', async () => {
    const id = await submit(base, { durationMs: 0, failTimes: 1 });
    await done(id);
    const { traceId, consumers } = await traceOf(id, 2);
    assertJoined(id, traceId, consumers);
    assert.deepEqual(consumers.map((c) => c.attributes['tasker.task.attempt']).sort(), [1, 2]);
    assert.deepEqual(consumers.map((c) => c.attributes['tasker.task.outcome']).sort(), ['done', 'retried']);
  });

  it('joins a task published by the sweeper to the trace it was created under', async () => {
    // An API that cannot reach the broker still accepts tasks; a sweeper publishes them: the worker's,
    // or the healthy API's (it runs the sweeper too since issue 13, so a group at zero still gets them).
    const port = await freePort();
    const lonely = startService('api', { ...t.env, PORT: String(port), RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1' });
    procs.push(lonely);
    // It waits up to 5 s for the broker before listening; allow for a slow start on a busy machine.
    await lonely.waitForLog('listening', (l) => l.msg === 'api listening', 30_000);
    const id = await submit(`http://127.0.0.1:${port}`, { durationMs: 0 });
    await done(id);
    const { traceId, consumers } = await traceOf(id, 1);
    const republished = ofTask(id, SPAN_KIND.PRODUCER).filter((s) => s.attributes['tasker.task.republished'] === true);
    assert.equal(republished.length, 1);
    assert.ok(['tasker-worker', 'tasker-api'].includes(republished[0]!.service), `published by ${republished[0]!.service}`);
    assert.equal(republished[0]!.traceId, traceId);
    assertJoined(id, traceId, consumers);
  });
});
