/**
 * Webhook deliveries (issue 16): `n` tasks with a callback to a local receiver complete at once
 * (the trigger writes their delivery rows in the completing statement); measured: deliveries/s
 * through one API process and the time from the completion's commit to each signed POST's arrival.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchEnv } from './infra';
import { completeRows, insertPendingTasks, notifyTerminal } from './feature-support';
import { percentile } from './percentile';
import { sleep, startApi } from './processes';

export interface WebhooksRun {
  deliveries: number;
  received: number;
  seconds: number;
  perSec: number;
  latencyMs: { p50: number; p99: number; max: number };
}

const SECRET = `whsec_${Buffer.from('tasker-bench-webhook-secret-0123456789').toString('base64')}`;

export async function webhooksRun(env: BenchEnv, n = 2_000): Promise<WebhooksRun> {
  await env.reset();
  let received = 0;
  let lastAt = 0;
  const arrivals: number[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      lastAt = performance.now();
      arrivals.push(lastAt);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const api = await startApi({ ...env.serviceEnv, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', WEBHOOK_CONCURRENCY: '64' }, 'api-webhooks');
  try {
    const ids = await insertPendingTasks(env, n, url);
    const t0 = performance.now();
    await completeRows(env, ids);
    const committed = performance.now();
    await notifyTerminal(env, ids);
    const deadline = Date.now() + 60_000;
    while (received < n && Date.now() < deadline) await sleep(50);
    const lat = arrivals.map((t) => t - committed).sort((a, b) => a - b);
    const seconds = (lastAt - t0) / 1000;
    return { deliveries: n, received, seconds, perSec: received / seconds, latencyMs: { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? NaN } };
  } finally {
    await api.svc.stop();
    server.closeAllConnections();
    server.close();
  }
}
