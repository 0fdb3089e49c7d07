/** heartbeat: extends leases (processing → processing), fenced by each lease's token. */
import type { Db } from '../../db/database';

export interface Lease {
  id: string;
  token: string;
}

/** Returns the leases still ours, as `id:token` keys. */
export async function extendLeases(db: Db, leases: Lease[], leaseMs: number): Promise<Set<string>> {
  if (leases.length === 0) return new Set();
  const r = await db.raw<{ rows: { id: string; token: string }[] }>(
    `WITH mine AS (
       SELECT t.id FROM tasks t JOIN unnest(?::uuid[], ?::uuid[]) AS l(id, token) ON t.id = l.id AND t.lease_token = l.token
        WHERE t.status = 'processing' ORDER BY t.id FOR UPDATE OF t
     )
     UPDATE tasks t SET lease_expires_at = now() + ? * interval '1 millisecond'
       FROM mine WHERE t.id = mine.id
    RETURNING t.id, t.lease_token AS token`,
    [leases.map((l) => l.id), leases.map((l) => l.token), leaseMs],
  );
  return new Set(r.rows.map((x) => leaseKey(x)));
}

export const leaseKey = (l: Lease): string => `${l.id}:${l.token}`;
