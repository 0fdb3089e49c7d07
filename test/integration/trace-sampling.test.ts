/**
 * Who decides whether a request is traced: our sampler, unless TRACE_TRUST_INCOMING_SAMPLING says
 * the callers are trusted. Two API processes export to a receiver inside the test with the
 * sampler `parentbased_traceidratio` at 0.5. That sampler is deterministic on the trace id (the
 * SDK XORs its four 32-bit words and samples below ratio × 2^32), so the test picks ids it knows
 * the answer for: 0000…000N is sampled, 8000…000N is not. Without trust, a caller's `traceparent`
 * keeps its trace id and parent span, but its sampled flag decides nothing; with trust, the flag
 * is followed as the W3C parent-based default does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { startOtlpReceiver, SPAN_KIND, type OtlpReceiver } from '../support/otlp-receiver';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

/** Trace ids the 0.5 ratio sampler samples (XOR of the words = N, below 2^31) and rejects (0x8000000N). */
const sampledId = (n: number) => n.toString(16).padStart(32, '0');
const rejectedId = (n: number) => `8${n.toString(16).padStart(31, '0')}`;

describe('trace sampling of incoming traceparent', () => {
  let t: TestEnv;
  let otlp: OtlpReceiver;
  const apis: ServiceProcess[] = [];
  let untrusted: string;
  let trusted: string;

  before(async () => {
    otlp = await startOtlpReceiver();
    t = await createTestEnv({
      ...otlp.env,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
    });
    const [p1, p2] = [await freePort(), await freePort()];
    apis.push(
      ...(await Promise.all([
        startReady('api', { ...t.env, PORT: String(p1) }, p1),
        startReady('api', { ...t.env, PORT: String(p2), TRACE_TRUST_INCOMING_SAMPLING: 'true' }, p2),
      ])),
    );
    untrusted = `http://127.0.0.1:${p1}`;
    trusted = `http://127.0.0.1:${p2}`;
  });
  after(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await t?.cleanup();
    await otlp?.close();
  });

  /** GETs a task listing with the caller's traceparent; returns the caller's span id. */
  async function call(base: string, traceId: string, flags: '00' | '01'): Promise<string> {
    const parent = randomBytes(8).toString('hex');
    const r = await fetch(`${base}/tasks?limit=1`, { headers: { traceparent: `00-${traceId}-${parent}-${flags}` } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    return parent;
  }
  const serverSpanOf = (traceId: string) =>
    waitFor(`the server span of trace ${traceId}`, () =>
      Promise.resolve(otlp.spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND.SERVER)),
    );

  it("untrusted: a caller's sampled flag does not force a trace our sampler rejects", async () => {
    await call(untrusted, rejectedId(1), '01');
    // Positive signal first: a later request of the same process whose trace our sampler keeps.
    // One process exports its spans in the order they ended, so once this one has arrived, the
    // earlier request's spans would have arrived too.
    const parent = await call(untrusted, sampledId(1), '01');
    const server = await serverSpanOf(sampledId(1));
    assert.equal(server.parentSpanId, parent, "the caller's span stays the parent");
    const forced = otlp.spans.filter((s) => s.traceId === rejectedId(1));
    assert.equal(forced.length, 0, `the caller's sampled flag forced ${forced.length} span(s) our sampler rejects: ${forced.map((s) => s.name).join(', ')}`);
  });

  it("untrusted: our sampler keeps a trace even when the caller's flag says not sampled", async () => {
    const parent = await call(untrusted, sampledId(2), '00');
    const server = await serverSpanOf(sampledId(2));
    assert.equal(server.parentSpanId, parent, 'the trace id and the parent are the caller’s');
  });

  it("trusted (TRACE_TRUST_INCOMING_SAMPLING=true): the caller's sampled flag is followed", async () => {
    const parent = await call(trusted, rejectedId(3), '01');
    const server = await serverSpanOf(rejectedId(3));
    assert.equal(server.parentSpanId, parent);
  });
});
