/**
 * A peer's worker in its own process: `node peer-worker.js <peer> <queue>`, forked with an IPC
 * channel. It runs no-op jobs and answers `stats` (what ran since the last `reset`) and `stop`.
 */
import type { WorkerReport } from './peer';
import { peerByName } from './library-peers';

/** Latencies kept per phase: enough for stable p99 at the benchmark's sizes, bounded for memory. */
const MAX_SAMPLES = 200_000;

async function main(): Promise<void> {
  const [name, queue] = process.argv.slice(2);
  if (!name || !queue || !process.send) throw new Error('usage: forked with <peer> <queue>');
  const send = (m: unknown) => process.send?.(m);
  let r: WorkerReport = { done: 0, firstDoneAt: 0, lastDoneAt: 0, startLatenciesMs: [] };
  const ctx = { queue, databaseUrl: process.env.BENCH_PEER_DATABASE_URL ?? '', redisUrl: process.env.BENCH_REDIS_URL ?? '' };
  const side = await peerByName(name).worker(ctx, (submittedAt) => {
    const now = Date.now();
    if (r.startLatenciesMs.length < MAX_SAMPLES) r.startLatenciesMs.push(now - submittedAt);
    r.done++;
    if (r.firstDoneAt === 0) r.firstDoneAt = now;
    r.lastDoneAt = now;
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') send({ stats: r });
    if (m.cmd === 'reset') {
      r = { done: 0, firstDoneAt: 0, lastDoneAt: 0, startLatenciesMs: [] };
      send({ reset: true });
    }
    if (m.cmd === 'stop') void side.close().finally(() => process.exit(0));
  });
  send({ ready: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`peer worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
