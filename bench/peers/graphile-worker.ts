/**
 * graphile-worker on this machine's PostgreSQL (its own schema in the benchmark database).
 * Settings from its performance guide: 24 concurrent jobs with a pool of 26 (`concurrentJobs + 2`),
 * batched fetching (`localQueue.size` 25 = concurrentJobs + 1), batched completion
 * (`completeJobBatchDelay` 0), LISTEN/NOTIFY wake-ups (always on), `addJob` per job.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { dropSchema } from './drop-schema';
import type { LibraryPeer } from './peer';

const schema = 'graphile_bench';
const version = (() => {
  // The package's exports do not include package.json: read it next to the resolved entry point.
  const entry = createRequire(__filename).resolve('graphile-worker');
  return (createRequire(__filename)(path.join(path.dirname(entry), '..', 'package.json')) as { version: string }).version;
})();

type Gw = typeof import('graphile-worker');
const load = (): Promise<Gw> => import('graphile-worker');
const silent = (gw: Gw) => new gw.Logger(() => () => undefined);

export const graphileWorker: LibraryPeer = {
  name: 'graphile-worker',
  version,
  settings: 'concurrentJobs 24, maxPoolSize 26, localQueue.size 25, completeJobBatchDelay 0; addJob() per job',
  unavailable: () => Promise.resolve(null),
  async setup(c) {
    const gw = await load();
    const utils = await gw.makeWorkerUtils({ connectionString: c.databaseUrl, schema, logger: silent(gw) });
    await utils.migrate();
    await utils.release();
  },
  async producer(c) {
    const gw = await load();
    const utils = await gw.makeWorkerUtils({ connectionString: c.databaseUrl, schema, logger: silent(gw), maxPoolSize: 10 });
    return {
      submit: async () => {
        await utils.addJob(c.queue, { submittedAt: Date.now() });
      },
      close: async () => {
        await utils.release();
      },
    };
  },
  async worker(c, onJob) {
    const gw = await load();
    const runner = await gw.run({
      logger: silent(gw),
      noHandleSignals: true,
      preset: {
        worker: {
          connectionString: c.databaseUrl,
          schema,
          concurrentJobs: 24,
          maxPoolSize: 26,
          localQueue: { size: 25 },
          completeJobBatchDelay: 0,
        },
      },
      taskList: {
        [c.queue]: (payload) => Promise.resolve(onJob((payload as { submittedAt: number }).submittedAt)),
      },
    });
    return { close: () => runner.stop() };
  },
  teardown: (c) => dropSchema(c.databaseUrl, schema),
};
