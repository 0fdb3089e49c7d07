/**
 * BullMQ on Redis. Settings from BullMQ's guide for throughput: finished jobs removed at once
 * (`removeOnComplete`/`removeOnFail`: nothing accumulates in Redis), worker `concurrency` 100 (the
 * guide's advice for async, I/O-bound processors; a no-op awaits nothing), one Worker per process.
 * Jobs are added one `add` per submit, as an API handling one request per job would.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { Queue, Worker } from 'bullmq';
import type { LibraryPeer, PeerContext } from './peer';

function connection(c: PeerContext) {
  const u = new URL(c.redisUrl);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}
const JOB_OPTS = { removeOnComplete: true, removeOnFail: true } as const;

export const bullmq: LibraryPeer = {
  name: 'BullMQ',
  version: (createRequire(__filename)('bullmq/package.json') as { version: string }).version,
  settings: 'Redis 127.0.0.1 (no persistence, as installed here); add() per job; removeOnComplete/removeOnFail true; Worker concurrency 100',
  async unavailable(c) {
    const { host, port } = connection(c);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.setTimeout(1000, () => (s.destroy(), resolve(false)));
      s.on('connect', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    return ok ? null : `Redis is not reachable at ${host}:${port}: BullMQ skipped`;
  },
  setup: () => Promise.resolve(),
  async producer(c) {
    const q = new Queue(c.queue, { connection: connection(c) });
    await q.waitUntilReady();
    return {
      submit: async () => {
        await q.add('noop', { submittedAt: Date.now() }, JOB_OPTS);
      },
      close: () => q.close(),
    };
  },
  async worker(c, onJob) {
    const w = new Worker(c.queue, (job) => Promise.resolve(onJob((job.data as { submittedAt: number }).submittedAt)), { connection: connection(c), concurrency: 100 });
    await w.waitUntilReady();
    return { close: () => w.close() };
  },
  async teardown(c) {
    const q = new Queue(c.queue, { connection: connection(c) });
    await q.obliterate({ force: true });
    await q.close();
  },
};
