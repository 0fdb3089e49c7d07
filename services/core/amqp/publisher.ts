/**
 * Publishes task wake-up messages on a confirm channel: persistent, mandatory, one promise per
 * message that settles on the broker's confirm. A message the broker returns (no queue bound)
 * or nacks rejects its promise; the row stays unconfirmed and the sweeper publishes it again.
 */
import type { ConfirmChannel, Message } from 'amqplib';
import { UnavailableError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import type { TaskMessage } from '../tasks/task';
import type { Broker } from './broker';

export interface Publisher {
  publish(msg: TaskMessage, headers?: Record<string, string>): Promise<void>;
  isReady(): boolean;
  readonly exchange: string;
}

const CONFIRM_TIMEOUT_MS = 10_000;

export async function createPublisher(broker: Broker, logger: Logger): Promise<Publisher> {
  const log = logger.child({ module: 'publisher' });
  let ch: ConfirmChannel | null = null;
  /** message ids the broker returned as unroutable; the confirm that follows checks here. */
  const returned = new Set<string>();

  await broker.keepChannel('publisher', async (model) => {
    const c = await model.createConfirmChannel();
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'publish channel error'));
    c.on('return', (m: Message) => {
      const id = m.properties.messageId as string | undefined;
      if (id) returned.add(id);
      log.warn({ task_id: id, routing_key: m.fields.routingKey }, 'message returned unroutable; sweeper will retry');
    });
    c.on('close', () => {
      if (ch === c) ch = null;
    });
    ch = c;
    return c;
  });

  return {
    exchange: broker.topology.exchange,
    isReady: () => ch !== null && broker.isConnected(),
    publish: (msg, headers = {}) => publishOnce(msg, headers),
  };

  function publishOnce(msg: TaskMessage, headers: Record<string, string>): Promise<void> {
      const c = ch;
      if (!c || !broker.isConnected()) return Promise.reject(new UnavailableError('broker not connected'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new UnavailableError('publish confirm timed out')), CONFIRM_TIMEOUT_MS);
        timer.unref();
        try {
          c.publish(
            broker.topology.exchange,
            msg.type,
            Buffer.from(JSON.stringify(msg)),
            {
              persistent: true,
              mandatory: true,
              messageId: msg.task_id,
              type: msg.type,
              contentType: 'application/json',
              timestamp: Math.floor(Date.now() / 1000),
              headers,
            },
            (err: unknown) => {
              clearTimeout(timer);
              if (err) return reject(new UnavailableError('broker nacked publish', 5, { cause: err }));
              if (returned.delete(msg.task_id)) return reject(new Error(`no queue bound for type ${msg.type}`));
              resolve();
            },
          );
        } catch (e) {
          clearTimeout(timer);
          reject(new UnavailableError('publish failed', 5, { cause: e }));
        }
      });
  }
}
