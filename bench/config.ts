/**
 * Every knob of the benchmark in one place. BENCH_SCALE (default 1) scales durations and counts
 * down for a quick smoke run (e.g. BENCH_SCALE=0.2); published figures use the default.
 */
const scale = Math.min(1, Math.max(0.05, Number(process.env.BENCH_SCALE ?? '1') || 1));
const s = (n: number, min = 1) => Math.max(min, Math.round(n * scale));

export const BENCH = {
  scale,
  adminDatabaseUrl: process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  rabbitmqUrl: process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  /** Redis for the BullMQ peer (skipped, with a note, when nothing answers there). */
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  /** Seconds per autocannon load point (bare Koa, ingest, tracing). */
  loadSeconds: s(10, 2),
  warmupSeconds: 1,
  /** Seconds of the PostgreSQL-insert and RabbitMQ-publish reference points. */
  referenceSeconds: s(5, 1),
  insertClients: 10,
  publishWindow: 1000,
  ingestConnections: [50, 200] as const,
  /** No-op tasks submitted as fast as possible in the end-to-end run. */
  e2eTasks: s(20_000, 500),
  e2eConnections: 50,
  /** Offered rate of the paced end-to-end run, and how long it lasts. */
  pacedRate: 500,
  pacedSeconds: s(10, 2),
  drainTasks: s(100_000, 2000),
  /** A drain stops at this cap even if the backlog is not empty (the rate is then done/elapsed). */
  drainCapSeconds: s(15, 5),
  /** Upper bound on a peer finishing what was submitted (the slow PostgreSQL queues: the rate is then done / elapsed). */
  peerSettleCapSeconds: s(20, 5),
  /** Skips the peers (`--no-peers` or BENCH_PEERS=0): Tasker's own figures only. */
  peers: !process.argv.includes('--no-peers') && process.env.BENCH_PEERS !== '0',
  /** Upper bound on waiting for a submitted batch to finish. */
  settleCapSeconds: s(30, 5),
  /** The as-fast-as-possible submission stops after this long even if not all tasks were sent. */
  e2eSubmitCapSeconds: s(12, 4),
  /** Steps that would start after this many seconds are skipped (with the peers the run must stay under 10 minutes). */
  budgetSeconds: 500,
  workerConcurrency: Number(process.env.BENCH_WORKER_CONCURRENCY ?? '512') || 512,
  /** No-op tasks: slots are held only for the claim and completion round trips, and a quorum queue
   * returns credit only after the ack commits, so both are set well above a real deployment's. */
  workerPrefetch: Number(process.env.BENCH_WORKER_PREFETCH ?? '2048') || 2048,
  /** Reliability scenario: paced submissions, one SIGKILL of the worker mid-run, short lease. */
  reliabilityRate: 500,
  reliabilitySeconds: s(8, 2),
  reliabilityLeaseMs: 3000,
  /**
   * Runs only these scenario groups (comma-separated: ingest, e2e, reliability, drain) after the
   * reference points, for profiling one path; unset runs everything. Published figures run all.
   */
  only: (process.env.BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean),
  /**
   * `--scheduling` (issue 17). Lateness: delayed tasks stored, due spread over `schedSpreadSeconds`
   * starting `schedLeadSeconds` after the storing starts; probe tasks due in between, while they are stored.
   */
  schedDelayedTasks: s(100_000, 2_000),
  schedLeadSeconds: s(60, 12),
  schedSpreadSeconds: s(30, 5),
  schedProbeTasks: s(3_000, 300),
  schedProbeWindowSeconds: s(20, 4),
  /** Workers running while delayed tasks come due. */
  schedLatenessWorkers: 2,
  /** Priority jump: low-priority backlog, then high-priority tasks one at a time. */
  schedPriorityBacklog: s(10_000, 1_000),
  /** Starving client: the other client's backlog. */
  schedStarvingBacklog: s(50_000, 2_000),
  /** Samples of the priority jump and of the starving client (one task each, spaced apart). */
  schedJumpSamples: 5,
  /** Weighted share: how long three clients with backlogs compete. */
  schedShareSeconds: s(30, 6),
  taskBody: JSON.stringify({ type: 'simulate', payload: { durationMs: 0 } }),
} as const;
