/**
 * The process's RabbitMQ connection, with amqplib's built-in recovery. Channels die with their
 * connection, so every channel is (re)built by an `onConnect` hook that runs after each reconnect,
 * after the topology has been asserted. amqplib recovers connections, not channels: a channel the
 * broker closes on its own (consumer_timeout, a queue or exchange deleted, a precondition failure)
 * while the connection stays up is reopened by `keepChannel`, topology asserted first.
 */
import os from 'node:os';
import amqp, { type Channel, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { UnavailableError } from '../errors/app-error';
import type { Logger } from '../log/logger';
import { createBrokerAddresses } from './broker-addresses';
import { assertTopology, type Topology } from './topology';

export type ConnectHook = (model: ChannelModel) => Promise<void>;

const WITH_CHANNEL_TIMEOUT_MS = 5_000;

function withTimeout<T>(ms: number, message: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new UnavailableError(message)), ms);
    timer.unref();
    fn().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

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
  /**
   * Opens a channel with `open` after every (re)connect, and reopens it — with backoff, topology
   * asserted first — whenever the broker closes it while the connection stays up and `wanted()`.
   */
  keepChannel(name: string, open: (model: ChannelModel) => Promise<Channel>, wanted?: () => boolean): Promise<void>;
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

  async function assertOn(m: ChannelModel): Promise<void> {
    const ch = await m.createChannel();
    ch.on('error', (err: Error) => logger.warn({ err }, 'topology channel error'));
    await assertTopology(ch, topology);
    await ch.close();
  }

  async function setup(m: ChannelModel): Promise<void> {
    await assertOn(m);
    for (const hook of hooks) await hook(m);
  }

  async function onConnect(hook: ConnectHook): Promise<void> {
    hooks.push(hook);
    if (current) await hook(current);
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
      // Bounded: a channel opened on a connection that dies meanwhile may never get its reply, and a
      // caller in a periodic job (the sweeper) must not wait forever for it.
      return withTimeout(WITH_CHANNEL_TIMEOUT_MS, 'broker channel operation timed out', async () => {
        const ch = await m.createChannel();
        ch.on('error', () => undefined); // a failed check (e.g. 404 queue) closes this channel only
        try {
          return await fn(ch);
        } finally {
          await ch.close().catch(() => undefined);
        }
      });
    },

    onConnect,

    async keepChannel(name, open, wanted = () => true) {
      const log = logger.child({ channel: name });
      const usable = (m: ChannelModel) => !stopped && current === m && wanted();
      const openWatched = async (m: ChannelModel): Promise<void> => {
        if (!wanted()) return;
        const ch = await open(m);
        ch.once('close', () => {
          if (!usable(m)) return; // the connection went (its recovery reopens everything) or we are stopping
          log.warn('channel closed by the broker while the connection is up; reopening it');
          void reopen(m);
        });
      };
      const reopen = async (m: ChannelModel): Promise<void> => {
        for (let attempt = 0; usable(m); attempt++) {
          await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** Math.min(attempt, 5))).unref());
          if (!usable(m)) return;
          try {
            await assertOn(m); // whatever was deleted under us comes back first
            await openWatched(m);
            log.info({ attempts: attempt + 1 }, 'channel reopened');
            return;
          } catch (err) {
            // First failure and every 10th: a channel that cannot come back is visible (and the
            // liveness backstop restarts the process) without flooding the logs.
            if (attempt === 0 || attempt % 10 === 9) log.warn({ err, attempts: attempt + 1 }, 'channel cannot be reopened yet; retrying');
          }
        }
      };
      await onConnect(openWatched);
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
