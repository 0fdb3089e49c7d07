/**
 * pg-boss on this machine's PostgreSQL (its own schema in the benchmark database). Settings from
 * its documentation for throughput and latency: LISTEN/NOTIFY on (`useListenNotify`, queue
 * `notify`), workers fetch in batches of 50 and keep fetching while batches come back full
 * (`burstWhenBatchFull`), 4 local workers, the shortest polling interval (0.5 s) as the backstop,
 * and `send` per job.
 */
import { createRequire } from 'node:module';
import { dropSchema } from './drop-schema';
import type { LibraryPeer, PeerContext } from './peer';

type Boss = {
  start(): Promise<unknown>;
  stop(o?: { graceful?: boolean; wait?: boolean; timeout?: number }): Promise<void>;
  createQueue(name: string, o?: Record<string, unknown>): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  send(name: string, data: object): Promise<string | null>;
  work(name: string, o: Record<string, unknown>, fn: (jobs: { data: { submittedAt: number } }[]) => Promise<void>): Promise<string>;
  on(event: string, fn: (e: unknown) => void): void;
};

const schema = 'pgboss_bench';

async function boss(c: PeerContext): Promise<Boss> {
  const { PgBoss } = (await import('pg-boss')) as unknown as { PgBoss: new (o: Record<string, unknown>) => Boss };
  const b = new PgBoss({
    connectionString: c.databaseUrl,
    schema,
    useListenNotify: true,
    max: 10,
    supervise: false,
    schedule: false,
  });
  b.on('error', () => undefined);
  await b.start();
  return b;
}

export const pgBoss: LibraryPeer = {
  name: 'pg-boss',
  version: (createRequire(__filename)('pg-boss/package.json') as { version: string }).version,
  settings: 'useListenNotify + queue notify; work(): batchSize 50, burstWhenBatchFull, localConcurrency 4, pollingIntervalSeconds 0.5; send() per job; pool 10',
  unavailable: () => Promise.resolve(null),
  async setup(c) {
    const b = await boss(c);
    await b.createQueue(c.queue, { notify: true });
    await b.stop({ graceful: false, wait: true });
  },
  async producer(c) {
    const b = await boss(c);
    return {
      submit: async () => {
        await b.send(c.queue, { submittedAt: Date.now() });
      },
      close: () => b.stop({ graceful: false, wait: true }),
    };
  },
  async worker(c, onJob) {
    const b = await boss(c);
    await b.work(c.queue, { batchSize: 50, burstWhenBatchFull: true, localConcurrency: 4, pollingIntervalSeconds: 0.5 }, (jobs) => {
      for (const j of jobs) onJob(j.data.submittedAt);
      return Promise.resolve();
    });
    return { close: () => b.stop({ graceful: true, wait: true, timeout: 5_000 }) };
  },
  teardown: (c) => dropSchema(c.databaseUrl, schema),
};
