/**
 * Holds a worker's consumption until the schema is current. In plain-Job mode (GitOps, operator
 * databases) the migration Job runs alongside the pods: a worker that consumed before it finished
 * would fail its claims on missing tables and spend the tasks' attempts. /ready already reports
 * the same check; this makes the consumer obey it too.
 */
import { checkSchema, type Db, type SchemaState } from './database';

export interface WaitForSchemaOptions {
  /** First delay between checks, doubled up to `maxDelayMs` (defaults 250 ms, 5 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Stops waiting (rejects with the signal's reason), e.g. on SIGTERM. */
  signal?: AbortSignal;
  /** Called after each failed check: the state (or the error) and the delay before the next one. */
  onWait?: (info: { state?: SchemaState; error?: Error; delayMs: number }) => void;
}

/** Resolves with the schema version once `checkSchema` reports ok. Database errors are waited out too. */
export async function waitForSchema(db: Db, required: string, options: WaitForSchemaOptions = {}): Promise<string> {
  const max = options.maxDelayMs ?? 5_000;
  let delayMs = options.initialDelayMs ?? 250;
  for (;;) {
    options.signal?.throwIfAborted();
    let state: SchemaState | undefined;
    let error: Error | undefined;
    try {
      state = await checkSchema(db, required);
      if (state.ok) return state.version;
    } catch (e: unknown) {
      error = e instanceof Error ? e : new Error(String(e));
    }
    options.onWait?.({ state, error, delayMs });
    await abortableSleep(delayMs, options.signal);
    delayMs = Math.min(max, delayMs * 2);
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
