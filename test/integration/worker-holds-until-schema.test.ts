/**
 * Plain-Job mode (GitOps, operator databases): the worker starts before the migration Job has run.
 * The real worker process must hold consumption — no consumer on its queue, /ready 503 — until the
 * schema is current, and then consume. Self-contained (no test/support): the built dist/, the
 * local PostgreSQL and RabbitMQ.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { ADMIN_DATABASE_URL, adminQuery } from '../support/infra';

const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SERVICES = path.resolve(__dirname, '../../services');
const id = randomBytes(4).toString('hex');
const dbName = `tasker_test_hold_${id}`;
const prefix = `thold${id}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Consumers on the worker's queue; 0 when the queue is not even declared yet. */
async function consumers(): Promise<number> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return (await ch.checkQueue(`${prefix}.q.simulate`)).consumerCount;
  } catch {
    return 0;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function readyStatus(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

describe('worker in plain-Job mode', () => {
  let worker: ChildProcess | undefined;
  let out = '';
  let env: Record<string, string>;
  let adminPort: number;

  before(async () => {
    await adminQuery(`CREATE DATABASE ${dbName}`); // empty: no migrations yet
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${dbName}`;
    adminPort = await freePort();
    env = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: url.toString(),
      RABBITMQ_URL,
      AMQP_PREFIX: prefix,
      WORKER_ADMIN_PORT: String(adminPort),
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
    };
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    const conn = await amqp.connect(RABBITMQ_URL);
    const ch = await conn.createChannel();
    for (const q of [`${prefix}.q.simulate`, `${prefix}.dead-letter`]) await ch.deleteQueue(q);
    for (const x of [`${prefix}.tasks`, `${prefix}.dlx`]) await ch.deleteExchange(x);
    await conn.close();
  });

  it('holds consumption until the migration has run, then consumes', async () => {
    worker = spawn(process.execPath, ['--import', path.join(SERVICES, 'core/telemetry/bootstrap.js'), path.join(SERVICES, 'worker/main.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    worker.stderr?.on('data', (d: Buffer) => (out += d.toString()));

    // Held: alive, not ready, no consumer, and it says why. Started means: the admin port answers
    // and the worker logged the hold (its start can take seconds on a loaded machine).
    const startedBy = Date.now() + 30_000;
    while (!/consumption held/.test(out) || (await readyStatus(adminPort)) === 0) {
      assert.equal(worker.exitCode, null, `worker exited while the schema was missing:\n${out}`);
      assert.ok(Date.now() < startedBy, `worker did not start holding within 30 s:\n${out}`);
      await sleep(200);
    }
    // Give it time to (wrongly) start consuming, as a worker without the hold would right away.
    await sleep(2_000);
    assert.equal(worker.exitCode, null, `worker exited while the schema was missing:\n${out}`);
    assert.equal(await readyStatus(adminPort), 503, '/ready while the schema is missing');
    assert.equal(await consumers(), 0, `a consumer exists before the schema:\n${out}`);
    assert.match(out, /schema not current yet .*consumption held/);

    // The Job runs: the worker starts consuming within its (capped) re-check interval.
    const migrate = spawnSync(process.execPath, [path.join(SERVICES, 'migrate/main.js')], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(migrate.status, 0, migrate.stdout + migrate.stderr);
    const deadline = Date.now() + 15_000;
    while ((await consumers()) < 1) {
      assert.ok(Date.now() < deadline, `no consumer 15 s after the migration:\n${out}`);
      await sleep(300);
    }
    while ((await readyStatus(adminPort)) !== 200) {
      assert.ok(Date.now() < deadline, `/ready not 200 after the migration:\n${out}`);
      await sleep(300);
    }
    worker.kill('SIGTERM');
    const code = await new Promise((r) => worker?.once('exit', (c) => r(c)));
    assert.equal(code, 0, out);
  });
});
