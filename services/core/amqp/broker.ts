/**
 * The process's RabbitMQ connection, with amqplib's built-in recovery. Channels die with their
 * connection, so every channel is (re)built by an `onConnect` hook that runs after each reconnect,
 * after the topology has been asserted.
 */
import os from 'node:os';
import amqp, { type Channel, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { UnavailableError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import { createBrokerAddresses } from './broker-addresses';
import { assertTopology, type Topology } from './topology';

export type ConnectHook = (model: ChannelModel) => Promise<void>;

export interface Broker {
  /** Starts connecting; resolves once connected or after `waitMs`, whichever is first. */
  start(waitMs?: number): Promise<void>;
  stop(): Promise<void>;
  isConnected(): boolean;
  /** Registers a hook run after every successful (re)connect; runs now too if connected. */
  onConnect(hook: ConnectHook): Promise<void>;
  readonly topology: Topology;
  /** Counts reconnects after the first connection (for metrics and tests). */
  reconnects(): number;
  /** Runs `fn` on a short-lived channel of the current connection (errors close only that channel). */
  withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T>;
}

export interface BrokerOptions {
  /** Nodes of one cluster, tried in turn: the next one after a lost connection or a failed attempt. */
  urls: readonly string[];
  heartbeatSeconds: number;
  topology: Topology;
  logger: Logger;
  /** Shown in the RabbitMQ UI and `rabbitmqctl list_connections`. */
  connectionName: string;
  onReconnect?: () => void;
  /**
   * Gives up an attempt whose TCP connect + AMQP handshake takes longer (default 10 s), so a node
   * that accepts connections but does not answer (frozen, partitioned) does not hold the reconnect
   * loop forever; amqplib lifts it once the connection is open.
   */
  connectTimeoutMs?: number;
}

export function createBroker(opts: BrokerOptions): Broker {
  const { logger, topology } = opts;
  const hooks: ConnectHook[] = [];
  let model: RecoveringChannelModel | null = null;
  let current: ChannelModel | null = null;
  let connectedOnce = false;
  let reconnectCount = 0;
  let stopped = false;

  async function setup(m: ChannelModel): Promise<void> {
    const ch = await m.createChannel();
    ch.on('error', (err: Error) => logger.warn({ err }, 'topology channel error'));
    await assertTopology(ch, topology);
    await ch.close();
    for (const hook of hooks) await hook(m);
  }

  return {
    topology,
    isConnected: () => current !== null,
    reconnects: () => reconnectCount,

    async start(waitMs = 5_000) {
      if (model || stopped) return;
      const addresses = createBrokerAddresses(opts.urls, opts.heartbeatSeconds);
      model = await amqp.connect(addresses.connectOptions, {
        timeout: opts.connectTimeoutMs ?? 10_000,
        clientProperties: { connection_name: `${opts.connectionName} ${os.hostname()} pid=${process.pid}` },
        recovery: {
          waitForConnect: false,
          initialDelay: 200,
          maxDelay: 5_000,
          maxRetries: Infinity,
          setup,
        },
      });
      model.on('connect', (m: ChannelModel) => {
        current = m;
        if (connectedOnce) {
          reconnectCount += 1;
          opts.onReconnect?.();
        }
        connectedOnce = true;
        logger.info({ reconnects: reconnectCount, broker: addresses.current() }, 'broker connected; topology asserted, consumers and publishers ready');
      });
      model.on('disconnect', (err: Error) => {
        current = null;
        const lost = addresses.current();
        addresses.advance(); // the node may be gone: the next attempt goes to the next address
        if (!stopped) logger.warn({ err: err?.message, broker: lost, next: addresses.current() }, 'broker connection lost; reconnecting with backoff');
      });
      // First failure and every 10th after it: an outage must be visible but not flood the logs.
      let failedAttempts = 0;
      model.on('connect', () => (failedAttempts = 0));
      model.on('connect-failed', (err: Error) => {
        failedAttempts += 1;
        const failed = addresses.current();
        addresses.advance();
        if (failedAttempts === 1 || failedAttempts % 10 === 0) {
          logger.warn({ err: err.message, attempts: failedAttempts, broker: failed, next: addresses.current() }, 'broker connection attempt failed; retrying with backoff');
        }
      });
      model.on('reconnect-failed', (err: Error) => logger.error({ err }, 'broker recovery gave up'));
      model.on('error', (err: Error) => logger.warn({ err: err.message }, 'broker connection error'));
      model.on('handler-error', (err: Error, event: string) => logger.error({ err, event }, 'broker listener threw'));
      model.on('blocked', (reason: string) => logger.warn({ reason }, 'broker blocked publishing (resource alarm)'));
      model.on('unblocked', () => logger.info('broker unblocked publishing'));
      const first = model.waitForConnect().then(() => undefined);
      first.catch(() => undefined);
      await Promise.race([first, new Promise((r) => setTimeout(r, waitMs).unref())]);
      if (!current) logger.warn('broker not reachable yet; starting anyway and reconnecting in the background');
    },

    async withChannel(fn) {
      const m = current;
      if (!m) throw new UnavailableError('broker not connected');
      const ch = await m.createChannel();
      ch.on('error', () => undefined); // a failed check (e.g. 404 queue) closes this channel only
      try {
        return await fn(ch);
      } finally {
        await ch.close().catch(() => undefined);
      }
    },

    async onConnect(hook) {
      hooks.push(hook);
      if (current) await hook(current);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      const m = model;
      model = null;
      current = null;
      if (m) await m.close().catch((err: unknown) => logger.warn({ err }, 'broker close failed'));
    },
  };
}
