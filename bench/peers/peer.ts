/**
 * What the benchmark needs from a peer (BullMQ, pg-boss, graphile-worker): a producer the load
 * generator calls in the benchmark process, and a worker that runs in its own process (so its CPU
 * is measured like Tasker's worker) and reports what it ran.
 */

/** What a peer's worker process reports: jobs started, and submit → start latencies (wall clock). */
export interface WorkerReport {
  done: number;
  /** Date.now() of the first and last job the worker finished (the handler returned). */
  firstDoneAt: number;
  lastDoneAt: number;
  /** submit → start of every job, ms (bounded sample; see peer-worker.ts). */
  startLatenciesMs: number[];
}

export interface Producer {
  /** Submits one no-op job carrying `submittedAt` (Date.now() at the call). */
  submit(): Promise<void>;
  close(): Promise<void>;
}

/** A running worker side; `stop` lets in-flight jobs finish. */
export interface WorkerSide {
  close(): Promise<void>;
}

/** Where a peer keeps its jobs: the queue name is unique per run; the URLs are the benchmark's. */
export interface PeerContext {
  queue: string;
  /** The benchmark database (pg-boss and graphile-worker each use their own schema in it). */
  databaseUrl: string;
  redisUrl: string;
}

export interface LibraryPeer {
  name: string;
  /** The library's version as installed. */
  version: string;
  /** The settings used, as documented by the library for throughput (printed with the results). */
  settings: string;
  /** null when it can run here, else why it is skipped (e.g. Redis not reachable). */
  unavailable(c: PeerContext): Promise<string | null>;
  /** Creates the queue or schema. */
  setup(c: PeerContext): Promise<void>;
  producer(c: PeerContext): Promise<Producer>;
  /** Called inside the worker process: runs `onJob(submittedAt)` for every job, no-op otherwise. */
  worker(c: PeerContext, onJob: (submittedAt: number) => void): Promise<WorkerSide>;
  /** Removes the queue or schema. */
  teardown(c: PeerContext): Promise<void>;
}
