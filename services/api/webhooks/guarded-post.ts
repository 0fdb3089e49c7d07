/**
 * One webhook POST under the address policy: the host is resolved once, every address it resolves
 * to is checked, and the connection is made to the checked address (a pinned lookup), so a DNS
 * answer that changes between the check and the connect (rebinding) cannot redirect it. Redirects
 * are not followed (a 3xx is a failed attempt); the whole exchange has one deadline.
 */
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy';

export type PostOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'failed'; status: number | null; error: string }
  /** Never connected: the target is not allowed; retrying cannot help. */
  | { kind: 'refused'; error: string };

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export interface GuardedPostOptions {
  policy: AddressPolicy;
  timeoutMs: number;
  /** DNS (tests inject one that answers private addresses). */
  resolve?: Resolver;
}

const systemResolve: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

export async function guardedPost(url: string, body: string, headers: Record<string, string>, o: GuardedPostOptions): Promise<PostOutcome> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const deadline = AbortSignal.timeout(o.timeoutMs);
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await withSignal((o.resolve ?? systemResolve)(host), deadline);
  } catch (e) {
    return { kind: 'failed', status: null, error: `cannot resolve ${host}: ${(e as Error).message}` };
  }
  if (addresses.length === 0) return { kind: 'failed', status: null, error: `${host} resolves to no address` };
  for (const a of addresses) {
    const refusal = o.policy.refusal(a.address);
    if (refusal) return { kind: 'refused', error: `${host} resolves to ${a.address} (${refusal}); not allowed by WEBHOOK_ALLOWED_CIDRS` };
  }
  const pinned = addresses[0]!;
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise<PostOutcome>((resolve) => {
    const req = transport.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'tasker-webhooks', ...headers },
        lookup,
        signal: deadline,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume(); // the body is not needed; reading it frees the socket
        res.on('end', () => {
          if (status >= 200 && status < 300) resolve({ kind: 'delivered', status });
          else if (status >= 300 && status < 400) resolve({ kind: 'failed', status, error: `HTTP ${status}: redirects are not followed` });
          else resolve({ kind: 'failed', status, error: `HTTP ${status}` });
        });
        res.on('error', (e) => resolve({ kind: 'failed', status, error: e.message }));
      },
    );
    req.on('error', (e) => {
      const timedOut = deadline.aborted;
      resolve({ kind: 'failed', status: null, error: timedOut ? `no answer within ${o.timeoutMs} ms` : e.message });
    });
    req.end(body);
  });
}

function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new Error('timed out'));
    signal.addEventListener('abort', abort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
