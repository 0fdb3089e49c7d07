/**
 * Readiness: the named checks a process needs before it should get traffic or work.
 * Liveness never calls these; a dependency outage must not restart healthy pods.
 */
import { checkSchema, type Db } from '../db/database';
import type { Broker } from '../amqp/broker';

export interface CheckResult {
  ok: boolean;
  [detail: string]: unknown;
}
export type ReadinessCheck = () => Promise<CheckResult>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/** Runs every check concurrently, each bounded by `timeoutMs` so /ready never hangs. */
export async function runReadiness(
  checks: Record<string, ReadinessCheck>,
  timeoutMs = 2_000,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${timeoutMs} ms` }), timeoutMs);
      });
      try {
        return [name, await Promise.race([check(), timeout])];
      } catch (e) {
        return [name, { ok: false, error: e instanceof Error ? e.message : String(e) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  return { ready: entries.every(([, r]) => r.ok), checks: report };
}

export function databaseCheck(db: Db): ReadinessCheck {
  return async () => {
    await db.raw('SELECT 1');
    return { ok: true };
  };
}

/** Caches success: once the schema is current it only gets newer during this process's life. */
export function schemaCheck(db: Db, required: string): ReadinessCheck {
  let current = false;
  return async () => {
    if (current) return { ok: true, required };
    const s = await checkSchema(db, required);
    current = s.ok;
    return s.ok
      ? { ok: true, version: s.version, required }
      : { ok: false, version: s.version, required, error: 'schema is older than this build needs; run migrations' };
  };
}

export function brokerCheck(broker: Broker, extra?: () => boolean): ReadinessCheck {
  return () => {
    const ok = broker.isConnected() && (extra ? extra() : true);
    return Promise.resolve(ok ? { ok } : { ok, error: 'broker connection is not open' });
  };
}
