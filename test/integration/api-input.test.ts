/**
 * The API against the real PostgreSQL and RabbitMQ, as a real process: every bad input gets its
 * 4xx with a JSON error naming the problem, and nothing is stored for a rejected request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

describe('API input handling', () => {
  let t: TestEnv;
  let api: ServiceProcess;
  let base: string;

  before(async () => {
    const port = await freePort();
    t = await createTestEnv({ PORT: String(port), MAX_BODY_BYTES: '1024' });
    api = await startReady('api', t.env, port);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await api?.stop();
    await t?.cleanup();
  });

  const rows = async () => Number((await t.db('tasks').count<{ count: string }[]>('* as count'))[0]!.count);

  async function expectError(res: Response, status: number, code: string) {
    assert.equal(res.status, status);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, code);
    assert.ok(body.error.message.length > 0);
    return body;
  }

  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}/tasks`, { method: 'POST', body, headers });

  const cases: [string, () => Promise<Response>, number, string][] = [
    ['malformed JSON', () => post('{"payload": '), 400, 'malformed_json'],
    ['invalid UTF-8', () => post(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')), 400, 'malformed_json'],
    ['missing payload', () => post('{"type":"simulate"}'), 422, 'missing_payload'],
    ['a body that is not an object', () => post('[1,2]'), 422, 'invalid_body'],
    ['an unknown field', () => post('{"payload":1,"payloud":2}'), 422, 'invalid_body'],
    ['an invalid simulate payload', () => post('{"payload":{"durationMs":-5}}'), 422, 'invalid_payload'],
    ['a NUL character PostgreSQL cannot store', () => post('{"payload":{"note":"a\\u0000b"}}'), 422, 'invalid_payload'],
    ['wrong content type', () => post('{"payload":1}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
    ['no content type', () => fetch(`${base}/tasks`, { method: 'POST', body: new Uint8Array(Buffer.from('{"payload":1}')) }), 415, 'unsupported_media_type'],
    ['a body over the limit', () => post(JSON.stringify({ payload: 'x'.repeat(2_000) })), 413, 'payload_too_large'],
    ['an unsupported content encoding', () => post('{"payload":1}', { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 415, 'unsupported_media_type'],
  ];
  for (const [name, send, status, code] of cases) {
    it(`rejects ${name} with ${status} ${code} and stores nothing`, async () => {
      await expectError(await send(), status, code);
      assert.equal(await rows(), 0);
    });
  }

  it('rejects an unknown type with 400 listing the known types', async () => {
    const body = await expectError(await post('{"type":"nope","payload":{}}'), 400, 'unknown_type');
    assert.deepEqual((body.error as unknown as { details: { known_types: string[] } }).details.known_types, ['simulate', 'test.record', 'test.thread']);
    assert.equal(await rows(), 0);
  });

  it('answers 404 for an id that is not a UUID and for an unknown id', async () => {
    await expectError(await fetch(`${base}/tasks/not-a-uuid`), 404, 'not_found');
    await expectError(await fetch(`${base}/tasks/0b6bb7d8-0f0c-4a34-9e5f-1d1a1b1c1d1e`), 404, 'not_found');
  });

  it('answers unknown routes and wrong methods with JSON', async () => {
    await expectError(await fetch(`${base}/nope`), 404, 'not_found');
    await expectError(await fetch(`${base}/tasks`, { method: 'PUT' }), 405, 'method_not_allowed');
  });

  it('accepts a valid task: 202, Location, and a pending row', async () => {
    const res = await post('{"payload":{"hello":"world"}}');
    assert.equal(res.status, 202);
    const body = (await res.json()) as { task_id: string; status: string };
    assert.equal(body.status, 'pending');
    assert.equal(res.headers.get('location'), `/tasks/${body.task_id}`);
    const got = (await (await fetch(`${base}/tasks/${body.task_id}`)).json()) as Record<string, unknown>;
    assert.equal(got.task_id, body.task_id);
    assert.equal(got.type, 'simulate');
    assert.deepEqual(got.payload, { hello: 'world' });
    for (const k of ['status', 'result', 'error', 'attempts', 'created_at', 'updated_at', 'started_at', 'finished_at']) {
      assert.ok(k in got, `GET /tasks/:id has ${k}`);
    }
    assert.equal(await rows(), 1);
  });

  it('serves liveness without checking dependencies and readiness with named checks', async () => {
    const h = await fetch(`${base}/health`);
    assert.equal(h.status, 200);
    const r = (await (await fetch(`${base}/ready`)).json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(r.status, 'ready');
    assert.deepEqual(Object.keys(r.checks).sort(), ['broker', 'database', 'schema']);
  });
});
