/**
 * RabbitMQ topology as data, asserted on every (re)connect.
 * One direct exchange routes by task type to one durable quorum queue per queue group; a
 * dead-letter exchange catches messages that exceed the delivery limit or cannot be parsed.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { TaskTypeDefinition } from '../tasks/task-types';

export interface QueueSpec {
  name: string;
  /** Task types routed to this queue (routing keys on the tasks exchange). */
  types: string[];
}

export interface Topology {
  exchange: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
  deliveryLimit: number;
  queues: QueueSpec[];
}

export function buildTopology(prefix: string, types: readonly TaskTypeDefinition[], deliveryLimit: number): Topology {
  const byQueue = new Map<string, string[]>();
  for (const t of types) byQueue.set(t.queue, [...(byQueue.get(t.queue) ?? []), t.name]);
  return {
    exchange: `${prefix}.tasks`,
    deadLetterExchange: `${prefix}.dlx`,
    deadLetterQueue: `${prefix}.dead-letter`,
    deliveryLimit,
    queues: [...byQueue].map(([queue, names]) => ({ name: queueName(prefix, queue), types: names })),
  };
}

export function queueName(prefix: string, queueGroup: string): string {
  return `${prefix}.q.${queueGroup}`;
}

/** The queues that carry the given task types. */
export function queuesFor(topology: Topology, types: readonly string[]): QueueSpec[] {
  return topology.queues.filter((q) => q.types.some((t) => types.includes(t)));
}

export async function assertTopology(ch: Channel, t: Topology): Promise<void> {
  await ch.assertExchange(t.exchange, 'direct', { durable: true });
  await ch.assertExchange(t.deadLetterExchange, 'fanout', { durable: true });
  await ch.assertQueue(t.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.bindQueue(t.deadLetterQueue, t.deadLetterExchange, '');
  for (const q of t.queues) {
    await ch.assertQueue(q.name, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        // Explicit on both 3.x (no default) and 4.x (default 20): a message that keeps crashing
        // consumers before they can claim its task ends in the dead-letter queue, not in a loop.
        'x-delivery-limit': t.deliveryLimit,
        'x-dead-letter-exchange': t.deadLetterExchange,
      },
    });
    for (const type of q.types) await ch.bindQueue(q.name, t.exchange, type);
  }
}

/** Deletes a topology (test and benchmark clean-up); each delete gets its own channel, since a failed one closes it. */
export async function deleteTopology(conn: ChannelModel, t: Topology, extraQueues: string[] = []): Promise<void> {
  const attempt = async (fn: (ch: Channel) => Promise<unknown>) => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await fn(ch).catch(() => undefined);
    await ch.close().catch(() => undefined);
  };
  for (const q of [...t.queues.map((x) => x.name), t.deadLetterQueue, ...extraQueues]) await attempt((ch) => ch.deleteQueue(q));
  for (const x of [t.exchange, t.deadLetterExchange]) await attempt((ch) => ch.deleteExchange(x));
}
