/**
 * Consumes the worker's queues: decode → validate → run → ack/reject. At most `concurrency` tasks
 * run at once; the broker hands this process at most `prefetch` unacked messages. Consumers
 * are re-registered after every reconnect and whenever the broker closes the channel or cancels a
 * consumer (a deleted queue comes back with the topology); a malformed message is dead-lettered on
 * first delivery.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Broker } from '../core/amqp/broker';
import type { QueueSpec } from '../core/amqp/topology';
import type { Logger } from '../core/log/logger';
import { parseTaskMessage, type TaskMessage } from '../core/tasks/task';
import type { RunOutcome } from './execution/runner-events';
import type { TaskRunner } from './execution/task-runner';

export interface Consumer {
  start(): Promise<void>;
  /** Stops deliveries, waits for in-flight tasks up to `drainMs`, then hands the rest back. */
  stop(drainMs: number): Promise<void>;
  isConsuming(): boolean;
  inFlight(): number;
}

export interface ConsumerOptions {
  broker: Broker;
  queues: QueueSpec[];
  concurrency: number;
  /** Unacked messages the broker may hand this process (≥ concurrency). */
  prefetch: number;
  runner: TaskRunner;
  logger: Logger;
  onOutcome?: (outcome: RunOutcome) => void;
}

export function createConsumer(o: ConsumerOptions): Consumer {
  const log = o.logger.child({ module: 'consumer' });
  let channel: Channel | null = null;
  let tags: string[] = [];
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  /**
   * Messages delivered while every slot is busy. Prefetch alone cannot bound concurrency here: a
   * message is acked as soon as its task is claimed, which frees its prefetch slot while the task
   * still runs. Waiting messages stay unacked, so prefetch bounds this list, and a channel close
   * during the drain hands them back to the broker.
   */
  const waiting: { ch: Channel; msg: ConsumeMessage }[] = [];

  function onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Closing the channel hands its unacked messages back and makes keepChannel reopen it, with
      // the topology (the deleted queue) asserted again.
      log.warn('consumer cancelled by the broker (queue deleted?); reopening the channel to resubscribe');
      void ch.close().catch(() => undefined);
      return;
    }
    const parsed = parseTaskMessage(msg.content);
    if (!parsed) {
      log.error({ delivery_tag: msg.fields.deliveryTag, queue: msg.fields.routingKey }, 'malformed message; dead-lettered');
      ch.nack(msg, false, false);
      return;
    }
    if (stopping) return; // unacked: requeued when the channel closes
    if (inFlight.size >= o.concurrency) {
      waiting.push({ ch, msg });
      return;
    }
    start(ch, msg, parsed);
  }

  function startWaiting(): void {
    while (!stopping && inFlight.size < o.concurrency && waiting.length > 0) {
      const { ch, msg } = waiting.shift()!;
      if (ch !== channel) continue; // its channel closed: the broker already requeued it
      start(ch, msg, parseTaskMessage(msg.content)!);
    }
  }

  function start(ch: Channel, msg: ConsumeMessage, parsed: TaskMessage): void {
    // Channel-bound ack: if the channel died meanwhile, the broker has already requeued the message.
    const safe = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        log.warn({ err, task_id: parsed.task_id }, 'could not ack/nack; the broker will redeliver');
      }
    };
    const p = o.runner
      .run(parsed, {
        ack: () => safe(() => ch.ack(msg)),
        reject: () => safe(() => ch.nack(msg, false, false)),
        isStopping: () => stopping,
      }, { queue: queueOf(msg), headers: msg.properties.headers })
      .then((outcome) => o.onOutcome?.(outcome))
      .catch((err: unknown) => log.error({ err, task_id: parsed.task_id }, 'task runner failed unexpectedly'))
      .finally(() => {
        inFlight.delete(p);
        startWaiting();
      });
    inFlight.add(p);
  }

  const queueByTag = new Map<string, string>();
  const queueOf = (msg: ConsumeMessage) => queueByTag.get(msg.fields.consumerTag) ?? o.queues[0]?.name ?? 'unknown';

  return {
    isConsuming: () => channel !== null && tags.length > 0 && o.broker.isConnected(),
    inFlight: () => inFlight.size,

    async start() {
      await o.broker.keepChannel('consumer', async (model) => {
        const ch = await model.createChannel();
        ch.on('error', (err: Error) => log.warn({ err: err.message }, 'consumer channel error'));
        ch.on('close', () => {
          if (channel === ch) {
            channel = null;
            tags = [];
          }
        });
        await ch.prefetch(o.prefetch);
        const newTags: string[] = [];
        for (const q of o.queues) {
          const r = await ch.consume(q.name, (m) => onMessage(ch, m), { noAck: false });
          newTags.push(r.consumerTag);
          queueByTag.set(r.consumerTag, q.name);
        }
        channel = ch;
        tags = newTags;
        log.info({ queues: o.queues.map((q) => q.name), prefetch: o.prefetch }, 'consuming');
        return ch;
      }, () => !stopping);
    },

    async stop(drainMs) {
      if (stopping) return;
      stopping = true;
      const ch = channel;
      if (ch) {
        for (const tag of tags) await ch.cancel(tag).catch(() => undefined);
      }
      log.info({ in_flight: inFlight.size, timeout_ms: drainMs }, 'stopped consuming; draining in-flight tasks');
      const drained = await Promise.race([
        Promise.all([...inFlight]).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), drainMs).unref()),
      ]);
      if (!drained) {
        log.warn({ in_flight: inFlight.size }, 'drain timeout; interrupting remaining tasks and handing them back');
        o.runner.abortAll();
        await Promise.all([...inFlight]);
      }
      waiting.length = 0; // never started, never acked: the channel close requeues them
      if (ch) await ch.close().catch(() => undefined);
      channel = null;
    },
  };
}
