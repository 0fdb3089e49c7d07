/**
 * What a confirmed publish costs (issue 15): persistent, mandatory publishes with the API's message
 * properties to a quorum queue, three ways — one at a time (the naive service), 50 in flight each
 * with its own confirm callback (the API: one per request, at 50 connections), and batches of 50
 * with one `waitForConfirms` per batch. Reports messages/s and CPU µs per message in this process
 * (the publisher's side) and in RabbitMQ.
 */
import { randomUUID } from 'node:crypto';
import amqp, { type ConfirmChannel } from 'amqplib';
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { CpuMeter } from './proc-stats';

export interface PublishCost {
  mode: string;
  msgPerSec: number;
  publisherCpuUsPerMsg: number;
  rabbitmqCpuUsPerMsg: number;
}

const props = () => {
  const id = randomUUID();
  return { persistent: true, mandatory: true, messageId: id, type: 'simulate', contentType: 'application/json', timestamp: Math.floor(Date.now() / 1000), headers: {} };
};

function publishOne(ch: ConfirmChannel, queue: string): Promise<void> {
  const p = props();
  const body = Buffer.from(JSON.stringify({ task_id: p.messageId, type: 'simulate' }));
  return new Promise((resolve, reject) => ch.publish('', queue, body, p, (err: unknown) => (err ? reject(new Error('nacked')) : resolve())));
}

async function measure(mode: string, run: (until: number) => Promise<number>): Promise<PublishCost> {
  const meter = new CpuMeter({ publisher: process.pid });
  const t0 = performance.now();
  const n = await run(t0 + BENCH.referenceSeconds * 1000);
  const cpu = meter.stop();
  const s = (performance.now() - t0) / 1000;
  return {
    mode,
    msgPerSec: n / s,
    publisherCpuUsPerMsg: ((cpu.cpuSeconds.publisher ?? 0) / Math.max(1, n)) * 1e6,
    rabbitmqCpuUsPerMsg: ((cpu.cpuSeconds.rabbitmq ?? 0) / Math.max(1, n)) * 1e6,
  };
}

export async function publishCost(env: BenchEnv): Promise<PublishCost[]> {
  const conn = await amqp.connect(BENCH.rabbitmqUrl);
  const queue = `${env.prefix}.bench-reference`;
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const out: PublishCost[] = [];
    out.push(
      await measure('one at a time (naive service)', async (until) => {
        let n = 0;
        while (performance.now() < until) {
          await publishOne(ch, queue);
          n++;
        }
        return n;
      }),
    );
    await ch.purgeQueue(queue);
    out.push(
      await measure('50 in flight, a confirm callback each (the API)', async (until) => {
        let n = 0;
        const lane = async () => {
          while (performance.now() < until) {
            await publishOne(ch, queue);
            n++;
          }
        };
        await Promise.all(Array.from({ length: 50 }, lane));
        return n;
      }),
    );
    await ch.purgeQueue(queue);
    out.push(
      await measure('batches of 50, one waitForConfirms each', async (until) => {
        let n = 0;
        while (performance.now() < until) {
          for (let i = 0; i < 50; i++) {
            const p = props();
            ch.publish('', queue, Buffer.from(JSON.stringify({ task_id: p.messageId, type: 'simulate' })), p);
          }
          await ch.waitForConfirms();
          n += 50;
        }
        return n;
      }),
    );
    await ch.deleteQueue(queue);
    await ch.close();
    return out;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
