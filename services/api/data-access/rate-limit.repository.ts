/**
 * Per-client rate limiting in PostgreSQL (GCRA, the algorithm behind most token-bucket limiters),
 * so every API replica enforces one shared limit without new infrastructure. One upsert decides
 * and records: a request is allowed while the client's theoretical arrival time is no further
 * ahead of now than the burst allows.
 */
import type { Db } from '../../core/db/database';

/** Returns 0 when allowed, else the milliseconds until the next request would be. */
export async function takeToken(db: Db, clientId: string, ratePerSecond: number, burst: number): Promise<number> {
  const intervalMs = 1000 / ratePerSecond;
  const toleranceMs = (burst - 1) * intervalMs;
  const r = await db.raw<{ rows: { allowed: boolean; wait_ms: number }[] }>(
    `INSERT INTO rate_limit_buckets AS b (client_id, tat, allowed)
     VALUES (?, now() + ? * interval '1 millisecond', true)
     ON CONFLICT (client_id) DO UPDATE SET
       allowed = greatest(b.tat, now()) - now() <= ? * interval '1 millisecond',
       tat = CASE WHEN greatest(b.tat, now()) - now() <= ? * interval '1 millisecond'
                  THEN greatest(b.tat, now()) + ? * interval '1 millisecond' ELSE b.tat END
     RETURNING allowed, (extract(epoch FROM tat - now()) * 1000 - ?)::float8 AS wait_ms`,
    [clientId, intervalMs, toleranceMs, toleranceMs, intervalMs, toleranceMs],
  );
  const row = r.rows[0]!;
  return row.allowed ? 0 : Math.max(1, row.wait_ms);
}
