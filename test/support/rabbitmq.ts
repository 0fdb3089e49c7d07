/** Broker-side test tools: close a given process's connection from outside, read a queue. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { RABBITMQ_URL, waitFor } from './infra';

const run = promisify(execFile);

/** Closes, from the broker side, every AMQP connection opened by the process with `pid`. */
export async function closeConnectionsOf(pid: number): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
  const lines = stdout.split('\n').filter((l) => l.includes(`pid=${pid}`));
  for (const line of lines) {
    const connPid = line.split('\t')[0]!.trim();
    await run('rabbitmqctl', ['close_connection', connPid, 'closed by test']);
  }
  return lines.length;
}

/** Publishes a raw message to the tasks exchange (as a duplicate or a malformed one would arrive). */
export async function publishRaw(exchange: string, routingKey: string, body: Buffer | string): Promise<void> {
  const c = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await c.createConfirmChannel();
    ch.publish(exchange, routingKey, Buffer.isBuffer(body) ? body : Buffer.from(body), { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await c.close();
  }
}

/** Counts the messages currently ready in a queue. */
export async function messageCount(queue: string): Promise<number> {
  const c = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await c.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await c.close();
  }
}

/**
 * Ready and unacknowledged messages of a queue, as the broker counts them (rabbitmqctl: a
 * channel's checkQueue sees only ready messages). Unacked 0 means every delivered message has
 * been acked or rejected by its consumer: a positive signal that a worker has decided on it.
 */
export async function queueState(queue: string): Promise<{ ready: number; unacked: number }> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name', 'messages_ready', 'messages_unacknowledged']);
  const row = stdout.split('\n').map((l) => l.split('\t')).find((cols) => cols[0] === queue);
  if (!row) throw new Error(`queue ${queue} not found`);
  return { ready: Number(row[1]), unacked: Number(row[2]) };
}

/** Waits until the broker holds no message of `queue`, ready or unacked. */
export async function queueSettled(queue: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    `${queue} empty and every delivery acked`,
    async () => {
      const s = await queueState(queue);
      return s.ready === 0 && s.unacked === 0;
    },
    timeoutMs,
    200,
  );
}
