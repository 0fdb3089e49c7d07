/** Broker-side test tools: close a given process's connection from outside, read a queue. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { RABBITMQ_URL } from './infra';

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
