/**
 * The broker nodes one connection may use, tried in turn. amqplib 2.x's built-in recovery takes a
 * single address: it reopens the connection with the very options object it was given, re-reading
 * host, port and credentials on every attempt. So the list is held in that object, and advancing
 * it after a lost connection or a failed attempt moves the next attempt to the next node (a node
 * that died is tried again only after every other one failed).
 */
import type { Options } from 'amqplib';

export interface BrokerAddresses {
  /** The options object handed to `amqp.connect`; always describes the address to try next. */
  readonly connectOptions: Options.Connect;
  /** Moves `connectOptions` to the next address (round robin). */
  advance(): void;
  /** host:port of the current address, without credentials (for logs). */
  current(): string;
  readonly count: number;
}

function toConnectOptions(raw: string, heartbeatSeconds: number): Options.Connect {
  const u = new URL(raw);
  const q = u.searchParams;
  const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
  const amqps = u.protocol === 'amqps:';
  return {
    protocol: amqps ? 'amqps' : 'amqp',
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : amqps ? 5671 : 5672,
    // amqplib's defaults for a URL without credentials
    username: u.username || u.password ? decodeURIComponent(u.username) : 'guest',
    password: u.username || u.password ? decodeURIComponent(u.password) : 'guest',
    // left encoded: amqplib unescapes the vhost itself, as it does for a URL string
    vhost: u.pathname.slice(1) || '/',
    heartbeat: num('heartbeat') ?? heartbeatSeconds,
    frameMax: num('frameMax'),
    channelMax: num('channelMax'),
    locale: q.get('locale') ?? undefined,
  };
}

export function createBrokerAddresses(urls: readonly string[], heartbeatSeconds: number): BrokerAddresses {
  if (urls.length === 0) throw new Error('at least one broker URL is needed');
  const all = urls.map((u) => toConnectOptions(u, heartbeatSeconds));
  let i = 0;
  // One mutable object: amqplib keeps a reference to it and reads it on every (re)connect attempt.
  const connectOptions: Options.Connect = { ...all[0] };
  return {
    connectOptions,
    count: all.length,
    advance() {
      if (all.length === 1) return;
      i = (i + 1) % all.length;
      for (const k of Object.keys(connectOptions) as (keyof Options.Connect)[]) delete connectOptions[k];
      Object.assign(connectOptions, all[i]);
    },
    current: () => `${connectOptions.hostname}:${connectOptions.port}`,
  };
}
