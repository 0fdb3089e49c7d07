/**
 * Several broker addresses (RABBITMQ_URL=a,b,…): the connection skips an address that refuses and,
 * once connected, moves to the next address when its node goes away. Two fault proxies in front of
 * the one local RabbitMQ stand in for two nodes of a cluster.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import amqp from 'amqplib';
import pino from 'pino';
import { createBroker, type Broker } from '../../services/core/amqp/broker';
import { buildTopology, deleteTopology } from '../../services/core/amqp/topology';
import { taskTypes } from '../../services/core/tasks/task-types';
import { extension } from '../plugin/test-extension';
import { startFaultProxy, viaProxy, type FaultProxy } from '../support/fault-proxy';
import { RABBITMQ_URL, waitFor } from '../support/infra';

const topology = buildTopology(`t${randomBytes(5).toString('hex')}`, taskTypes([extension]), 10);
const proxies: FaultProxy[] = [];
const brokers: Broker[] = [];

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

function broker(urls: string[], logger: pino.Logger, connectTimeoutMs = 10_000): Broker {
  const b = createBroker({ urls, heartbeatSeconds: 5, topology, logger, connectionName: 'tasker-test-addresses', connectTimeoutMs });
  brokers.push(b);
  return b;
}
const connectedTo = (lines: Record<string, unknown>[]) => lines.filter((l) => String(l.msg).startsWith('broker connected')).map((l) => l.broker);

after(async () => {
  for (const b of brokers) await b.stop();
  for (const p of proxies) await p.close();
  const c = await amqp.connect(RABBITMQ_URL);
  await deleteTopology(c, topology).finally(() => c.close());
});

describe('a broker connection with several addresses', () => {
  test('skips an address that refuses connections and connects to the next', async () => {
    const { logger, lines } = capture();
    const dead = 'amqp://guest:guest@127.0.0.1:1';
    const b = broker([dead, RABBITMQ_URL], logger);
    await b.start(10_000);
    assert.equal(b.isConnected(), true);
    const port = new URL(RABBITMQ_URL).port || '5672';
    assert.deepEqual(connectedTo(lines), [`127.0.0.1:${port}`]);
    assert.ok(lines.some((l) => l.msg === 'broker connection attempt failed; retrying with backoff' && l.broker === '127.0.0.1:1'));
  });

  test('gives up on an address that accepts but never answers (a frozen node) and connects to the next', async () => {
    const port = Number(new URL(RABBITMQ_URL).port || 5672);
    const frozen = await startFaultProxy('127.0.0.1', port);
    proxies.push(frozen);
    frozen.setMode('blackhole');
    const { logger, lines } = capture();
    const b = broker([viaProxy(RABBITMQ_URL, frozen.port), RABBITMQ_URL], logger, 1_000);
    await b.start(0);
    await waitFor('connected past the frozen address', () => Promise.resolve(b.isConnected()), 8_000);
    assert.equal(connectedTo(lines).length, 1);
  });

  test('after losing its node, reconnects at once to the next address and works there', async () => {
    const port = Number(new URL(RABBITMQ_URL).port || 5672);
    const a = await startFaultProxy('127.0.0.1', port);
    const z = await startFaultProxy('127.0.0.1', port);
    proxies.push(a, z);
    const { logger, lines } = capture();
    const b = broker([viaProxy(RABBITMQ_URL, a.port), viaProxy(RABBITMQ_URL, z.port)], logger, 5_000);
    await b.start(10_000);
    assert.deepEqual(connectedTo(lines), [`127.0.0.1:${a.port}`]);
    // node "a" freezes: its connections are cut and new ones hang; the next attempt must not go
    // there first (it would wait the whole connect timeout)
    a.setMode('blackhole');
    a.cut();
    const t0 = Date.now();
    await waitFor('reconnected', () => Promise.resolve(b.isConnected() && b.reconnects() === 1), 10_000);
    assert.ok(Date.now() - t0 < 4_000, `reconnected in ${Date.now() - t0} ms, before a connect timeout to the lost node`);
    assert.deepEqual(connectedTo(lines), [`127.0.0.1:${a.port}`, `127.0.0.1:${z.port}`]);
    assert.equal(a.connections(), 0);
    // the new connection carries traffic: the topology's queues are reachable through it
    const q = topology.queues[0]!.name;
    const st = await b.withChannel((ch) => ch.checkQueue(q));
    assert.equal(st.queue, q);
  });
});
