/**
 * Bounded wait for PostgreSQL to accept connections. The migration Job can start before its
 * database does (a CloudNativePG cluster bootstrapping in the same release, a database restarting
 * during an upgrade); connecting once and failing would spend the Job's few retries in seconds.
 */
import { isDatabaseUnavailable } from '../core/db/database';

export interface WaitOptions {
  /** Total time to keep trying; the last error is thrown after it. */
  timeoutMs: number;
  /** First delay between attempts, doubled each time up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each sleep, so the caller can log what happens next. */
  onRetry?: (info: { error: Error; attempt: number; delayMs: number; waitedMs: number }) => void;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `attempt` until it succeeds. Only "database unavailable" errors (connection refused, DNS,
 * starting up, timeouts — `isDatabaseUnavailable`) are retried: a wrong password or a bad SQL
 * statement fails at once, because waiting would not fix it.
 */
export async function withDatabaseWait<T>(attempt: () => Promise<T>, options: WaitOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e: unknown) {
      const error = e instanceof Error ? e : new Error(String(e));
      const waitedMs = Date.now() - started;
      if (!isDatabaseUnavailable(error) || waitedMs >= options.timeoutMs) throw error;
      const delayMs = Math.min(max, initial * 2 ** (n - 1), Math.max(0, options.timeoutMs - waitedMs));
      options.onRetry?.({ error, attempt: n, delayMs, waitedMs });
      await sleep(delayMs);
    }
  }
}
