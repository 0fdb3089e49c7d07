/** The library peers by name (the worker process looks its peer up here). */
import { bullmq } from './bullmq';
import { graphileWorker } from './graphile-worker';
import type { LibraryPeer } from './peer';
import { pgBoss } from './pg-boss';

export const LIBRARY_PEERS: readonly LibraryPeer[] = [bullmq, pgBoss, graphileWorker];

export function peerByName(name: string): LibraryPeer {
  const p = LIBRARY_PEERS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown peer ${name}`);
  return p;
}
