/**
 * The only reader of process.env. Every setting is parsed and validated here, once, at start;
 * all invalid keys are reported together so an operator fixes them in one round.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { apiKeyPrefix } from '../auth/api-key';

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  );

/** A non-empty comma-separated list whose every item passes `item`. */
const csvOf = (item: z.ZodType<string, string>, def: string) =>
  z
    .string()
    .default(def)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .pipe(z.array(item).min(1));

/** `client=number,client=number`: a number per client id (weights, limits). */
const perClient = (value: z.ZodType<number, unknown>, what: string) =>
  csv.transform((items, ctx) => {
    const byClient = new Map<string, number>();
    for (const item of items) {
      const [client = '', v, extra] = item.split('=').map((x) => x.trim());
      const parsed = value.safeParse(v);
      if (client === '' || v === undefined || extra !== undefined || !parsed.success) {
        ctx.addIssue({ code: 'custom', message: `"${item}": expected client=${what}, comma-separated` });
        return z.NEVER;
      }
      byClient.set(client, parsed.data);
    }
    return byClient;
  });

/** `address/prefix`, the prefix within the family's width. */
function isCidr(s: string): boolean {
  const [address = '', bits = ''] = s.split('/');
  const family = isIP(address);
  return family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/tasker'),
  /**
   * Comma-separated broker addresses (nodes of one cluster, or one load-balanced address). The
   * connection uses the first and, after losing it or failing to connect, tries the next in turn.
   */
  RABBITMQ_URL: csvOf(z.url({ protocol: /^amqps?$/ }), 'amqp://guest:guest@127.0.0.1:5672'),
  /** Prefix of every exchange and queue name; lets several installations (or test runs) share a vhost. */
  AMQP_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (max 64)')
    .default('tasker'),
  AMQP_HEARTBEAT_SECONDS: int(15, 0, 600),
  /** RabbitMQ management API (http://user:pass@host:15672), for the unacknowledged-messages gauge. */
  RABBITMQ_MANAGEMENT_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** How often the API recomputes the queue-state gauges (backlog, oldest due task, queue depth). */
  QUEUE_METRICS_INTERVAL_MS: int(5_000, 100),
  /** Broker-side backstop: deliveries before a message that never got claimed is dead-lettered. */
  AMQP_DELIVERY_LIMIT: int(10, 1, 1000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(8000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_BODY_BYTES: int(1_048_576, 1, 64 * 1_048_576),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 1000),
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 1000),
  HTTP_KEEPALIVE_TIMEOUT_MS: int(5_000, 100),
  DB_POOL_MAX: int(10, 1, 200),
  DB_CONNECT_TIMEOUT_MS: int(5_000, 100),
  DB_STATEMENT_TIMEOUT_MS: int(10_000, 100),
  DB_IDLE_IN_TX_TIMEOUT_MS: int(30_000, 100),
  WORKER_CONCURRENCY: int(8, 1, 1000),
  /**
   * Messages a worker may hold unacked (AMQP prefetch); 0 = 2 × WORKER_CONCURRENCY. A message is
   * acked once its task is claimed, but a quorum queue returns the credit only after the ack is
   * committed in its log, so short tasks need more credit than slots to keep the pipeline full.
   */
  WORKER_PREFETCH: int(0, 0, 65_535),
  /** Comma-separated task types this worker consumes; empty means every registered type. */
  WORKER_TASK_TYPES: csv,
  WORKER_ADMIN_PORT: int(8001, 0, 65535),
  /** How long a claim is valid without a heartbeat; a crashed worker's task is recovered after this. */
  LEASE_MS: int(30_000, 1000),
  HEARTBEAT_MS: int(10_000, 100),
  /**
   * Liveness backstop: a worker without a working consumer (an API without a working publisher)
   * this long while its broker connection is up answers /health 503, so it is restarted. 0 = off.
   */
  LIVENESS_STALL_MS: int(120_000, 0),
  /** SIGTERM drain budget; keep it below the pod's terminationGracePeriodSeconds. */
  DRAIN_TIMEOUT_MS: int(25_000, 0),
  SWEEP_INTERVAL_MS: int(1_000, 50),
  /** How often rows that became due unpublished (delayed tasks, retries) are published: their lateness bound. */
  DUE_POLL_MS: int(200, 20, 60_000),
  SWEEP_BATCH: int(500, 1, 10_000),
  /** A pending row not confirmed published within this long after it became due is republished. */
  SWEEP_UNCONFIRMED_AFTER_MS: int(2_000, 0),
  /** A published, still-pending row is republished after this long in case its message was lost. */
  SWEEP_REPUBLISH_AFTER_MS: int(300_000, 1000),
  /** Most stale rows republished per sweep (only for queues with no message ready). */
  SWEEP_REPUBLISH_MAX: int(100, 1, 10_000),
  REAP_INTERVAL_MS: int(5_000, 100),
  RETRY_BASE_MS: int(1_000, 0),
  RETRY_MAX_MS: int(300_000, 0),
  /** RetryLaterError reschedules a task without spending an attempt at most this often; then it counts as a failure. */
  MAX_SNOOZES: int(100, 0, 1_000_000),
  /** Longest delay a RetryLaterError may ask for. */
  SNOOZE_MAX_MS: int(3_600_000, 0),
  /** Per-task `timeout_ms` may not exceed this. */
  TASK_TIMEOUT_CEILING_MS: int(3_600_000, 1000),
  /** How long an Idempotency-Key is remembered. */
  IDEMPOTENCY_TTL_MS: int(86_400_000, 1000),
  /** Largest page GET /tasks returns. */
  LIST_MAX_LIMIT: int(100, 1, 1000),
  /** Bulk dead-letter replay spreads tasks at this rate, so a replay cannot flood the workers. */
  REPLAY_RATE_PER_SECOND: int(50, 1, 100_000),
  REPLAY_MAX_BATCH: int(1_000, 1, 100_000),
  /** How often each API replica looks for due schedules (every replica ticks; SKIP LOCKED and the unique tick key keep it to one task per tick). */
  SCHEDULE_POLL_MS: int(1_000, 50, 60_000),
  /**
   * A tick more than this far behind now when the ticker reaches it is missed (the API was down):
   * the schedule's `missed` policy decides whether it gets a task. Later ticks within it all get one.
   */
  SCHEDULE_MISSED_AFTER_MS: int(60_000, 100, 86_400_000),
  /** Comma-separated absolute paths of extension modules (task types and handlers; see core/tasks/extension.ts). */
  EXTENSIONS: csv.pipe(z.array(z.string().startsWith('/', 'absolute module paths only'))),
  /** `required`: every task endpoint needs a bearer API key or JWT. Default: required in production, none otherwise. */
  AUTH_MODE: z.enum(['required', 'none']).optional(),
  /** How long a verified API key is trusted without a database lookup (revocation takes effect within it). */
  AUTH_KEY_CACHE_MS: int(5_000, 0, 300_000),
  /** JWT bearer tokens (optional): exactly one key source, pinned algorithms, issuer and audience. */
  /**
   * https only: signing keys fetched over plain http can be swapped in transit, and whoever swaps
   * them mints tokens we accept (a test JWKS server on http needs no exception: tests use a PEM key).
   */
  AUTH_JWT_JWKS_URL: z.url({ protocol: /^https$/, error: 'must be an https:// URL (signing keys must not travel in clear text)' }).optional(),
  AUTH_JWT_PUBLIC_KEY: z.string().min(1).optional(),
  AUTH_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  AUTH_JWT_ALGORITHMS: csv,
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_MAX_AGE_SECONDS: int(3_600, 1),
  /** Claim naming the client (task owner). */
  AUTH_JWT_CLIENT_CLAIM: z.string().min(1).default('sub'),
  /** Requests per second per client (token bucket in PostgreSQL, shared by all replicas); 0 = off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(100_000).default(0),
  RATE_LIMIT_BURST: int(0, 0, 1_000_000),
  /**
   * Proxies (load balancer, ingress) in front of the API whose X-Forwarded-For entries are trusted
   * to name the caller's address, for the limit on failed authentication per address; 0 = the
   * socket's peer is the caller (behind a proxy every caller would then share the proxy's address).
   */
  HTTP_TRUSTED_PROXY_HOPS: int(0, 0, 10),
  /** Longest `?wait=` (seconds) a request may wait for a task result; keep it below the load balancer's idle timeout. */
  WAIT_MAX_SECONDS: int(30, 0, 600),
  /** Waited-for tasks are re-read this often, so a missed NOTIFY delays an answer by at most this long. */
  WAIT_RECHECK_MS: int(1_000, 50, 60_000),
  /** Most tasks in one POST /tasks/batch. */
  BATCH_MAX_TASKS: int(1_000, 1, 10_000),
  /** Largest POST /tasks/batch body (MAX_BODY_BYTES applies to every other request). */
  BATCH_MAX_BODY_BYTES: int(16_777_216, 1, 256 * 1_048_576),
  /**
   * Signing secret of completion webhooks, `whsec_` + base64 (Standard Webhooks). Unset: a task
   * with a `callback` is refused (422).
   */
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'whsec_ followed by at least 24 bytes in base64')
    .optional(),
  /** Internal targets webhooks may reach in spite of the SSRF policy (CIDRs, e.g. 10.1.2.0/24,fd00::/8). */
  WEBHOOK_ALLOWED_CIDRS: csv.pipe(z.array(z.string().refine(isCidr, 'a CIDR: address/prefix'))),
  /** Deadline of one delivery attempt (connect, send, answer). */
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 120_000),
  /** Attempts per delivery before it is recorded as failed (redeliver with POST /webhooks/deliveries/:id/redeliver). */
  WEBHOOK_MAX_ATTEMPTS: int(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: int(1_000, 0),
  WEBHOOK_RETRY_MAX_MS: int(3_600_000, 0),
  /** How often each API replica looks for due deliveries (a completion also wakes it at once). */
  WEBHOOK_POLL_MS: int(1_000, 50, 60_000),
  /** Deliveries each API replica sends at once. */
  WEBHOOK_CONCURRENCY: int(16, 1, 1_000),
  /**
   * Fair share between clients (issue 17): `client=weight,…`. With a backlog, running slots of a
   * type split between the clients that have due tasks in proportion to these weights.
   */
  CLIENT_WEIGHTS: perClient(z.coerce.number().positive().max(1_000), 'weight (0 < w ≤ 1000)'),
  /** Weight of a client CLIENT_WEIGHTS does not name. */
  CLIENT_DEFAULT_WEIGHT: z.coerce.number().positive().max(1_000).default(1),
  /** Most tasks (all types) a client may have running at once: `client=n,…`; unnamed clients are unlimited. */
  CLIENT_MAX_RUNNING: perClient(z.coerce.number().int().min(1).max(1_000_000), 'n (an integer ≥ 1)'),
  /** Latest start a submission may ask for (`run_at` / `delay_ms`), from now. */
  MAX_DELAY_MS: int(30 * 86_400_000, 0, 366 * 86_400_000),
  /** Pending tasks one client may have at once (429 above it); 0 = unlimited. */
  MAX_PENDING_PER_CLIENT: int(0, 0, 10_000_000),
  /** Deepest JSON nesting accepted in a request body. */
  MAX_JSON_DEPTH: int(32, 1, 1_000),
  /** Serve /health, /ready and /metrics on this separate port instead of PORT (0 = same port). */
  API_ADMIN_PORT: int(0, 0, 65535),
  /**
   * Follow the sampled flag of a caller's W3C traceparent (true only when every caller is your own
   * service). Off: the caller's trace id and parent are kept, but our sampler decides alone.
   */
  TRACE_TRUST_INCOMING_SAMPLING: z.stringbool().default(false),
  /** Send Strict-Transport-Security (only behind TLS). */
  SECURITY_HSTS: z.stringbool().default(false),
  /** Serve the web console at /ui on PORT (static files; its data comes from the authenticated API). */
  CONSOLE_ENABLED: z.stringbool().default(true),
  /**
   * Link from a task to its trace: `{trace_id}` is replaced by the task's trace id (e.g.
   * `http://localhost:16686/trace/{trace_id}` for Jaeger). Empty: tasks show the trace id only.
   */
  TRACE_URL_TEMPLATE: z
    .string()
    .default('')
    .refine((s) => s === '' || (s.includes('{trace_id}') && /^https?:\/\//.test(s)), 'an http(s) URL containing {trace_id}'),
  SIMULATE_MIN_MS: int(2_000, 0),
  SIMULATE_MAX_MS: int(5_000, 0),

  // --- read by the migrate entry point only (services/migrate/main.ts) ---
  /**
   * How long migrate waits for PostgreSQL to accept connections, retrying with capped backoff: an
   * operator-managed database (CloudNativePG) is still bootstrapping when the migration Job starts.
   */
  MIGRATE_DATABASE_WAIT_MS: int(300_000, 0, 3_600_000),
  /** An API key (`tsk_…`) whose hash migrate stores when absent: the unattended first key of an install. */
  API_KEY_SEED: z
    .string()
    .refine((k) => apiKeyPrefix(k) !== null, 'must be a key of the form tsk_<12 of a-z0-9>_<43 of A-Z a-z 0-9 _ ->')
    .optional(),
  /** Client name the seeded key authenticates as. */
  API_KEY_SEED_CLIENT: z
    .string()
    .regex(/^[A-Za-z0-9._@:-]{1,100}$/, '1–100 of A-Z a-z 0-9 . _ @ : -')
    .default('bootstrap'),
  /** Whether the seeded key is an admin key. */
  API_KEY_SEED_ADMIN: z.stringbool().default(false),
});

export type Config = Readonly<Omit<z.infer<typeof schema>, 'AUTH_MODE'> & { AUTH_MODE: 'required' | 'none' }>;

/** Thrown when the environment is invalid; `issues` names every bad key. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Every environment variable name the configuration knows (the chart's env is checked against it). */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = parsed.data;
  const cross: string[] = [];
  if (c.HEARTBEAT_MS * 3 > c.LEASE_MS) cross.push('HEARTBEAT_MS: at most LEASE_MS / 3 (one slow or lost beat must not lose the lease)');
  if (c.SIMULATE_MIN_MS > c.SIMULATE_MAX_MS) cross.push('SIMULATE_MIN_MS: must not exceed SIMULATE_MAX_MS');
  if (c.RETRY_BASE_MS > c.RETRY_MAX_MS) cross.push('RETRY_BASE_MS: must not exceed RETRY_MAX_MS');
  if (c.SCHEDULE_MISSED_AFTER_MS < 2 * c.SCHEDULE_POLL_MS) {
    cross.push('SCHEDULE_MISSED_AFTER_MS: at least 2 × SCHEDULE_POLL_MS (a tick reached one poll late is not missed)');
  }
  const jwtSources = [c.AUTH_JWT_JWKS_URL, c.AUTH_JWT_PUBLIC_KEY, c.AUTH_JWT_SECRET].filter((x) => x !== undefined).length;
  if (jwtSources > 1) cross.push('AUTH_JWT_*: set only one of AUTH_JWT_JWKS_URL, AUTH_JWT_PUBLIC_KEY, AUTH_JWT_SECRET');
  if (jwtSources === 1 && c.AUTH_JWT_ALGORITHMS.length === 0) cross.push('AUTH_JWT_ALGORITHMS: required with a JWT key source');
  if (c.AUTH_JWT_ALGORITHMS.some((a) => a.toLowerCase() === 'none')) cross.push('AUTH_JWT_ALGORITHMS: "none" is never allowed');
  if (cross.length > 0) throw new ConfigError(cross);
  return Object.freeze({ ...c, AUTH_MODE: c.AUTH_MODE ?? (c.NODE_ENV === 'production' ? 'required' : 'none') });
}
