/**
 * Per-source-address limit on authentication work, kept in this process's memory (GCRA, the same
 * algorithm as the per-client limit). It guards what runs before a caller is known: a request
 * whose credentials must be looked up or verified takes a token from its address first and gives
 * it back once it authenticates, so a flood without credentials, or with well-formed keys that
 * each cost a database lookup, is answered 429 once its address has spent its burst — before its
 * credentials are looked at, however many of its requests are in flight at once (charging only
 * after a 401 let 40 concurrent lookups through a burst of 5).
 *
 * Why in memory and not in PostgreSQL like the per-client limit: a shared counter would cost the
 * database one write per unauthenticated request, the very load this guards against. So the
 * limit holds per API replica (N replicas let N × the rate through); it is a flood guard, not a
 * quota. Callers that authenticate get their token back, and cached keys take none.
 */
export interface AddressLimiter {
  /** Takes a token: 0 when the address may try to authenticate now, else milliseconds until it may (nothing taken). */
  take(address: string): number;
  /** Gives back the token of an attempt that authenticated. */
  refund(address: string): void;
}

export interface AddressLimiterOptions {
  ratePerSecond: number;
  burst: number;
  /** Addresses remembered at most (a flood from many addresses must not grow the process); default 100 000. */
  maxAddresses?: number;
  now?: () => number;
}

export function createAddressLimiter(o: AddressLimiterOptions): AddressLimiter {
  const intervalMs = 1000 / o.ratePerSecond;
  const toleranceMs = (o.burst - 1) * intervalMs;
  const maxAddresses = o.maxAddresses ?? 100_000;
  const now = o.now ?? Date.now;
  /** Theoretical arrival time per address: each token taken moves it one interval further ahead. */
  const tat = new Map<string, number>();

  function makeRoom(t: number): void {
    for (const [address, at] of tat) if (at <= t) tat.delete(address);
    // Still full: drop the oldest entries (a Map keeps insertion order); those addresses start afresh.
    for (const address of tat.keys()) {
      if (tat.size < maxAddresses) break;
      tat.delete(address);
    }
  }

  return {
    take(address) {
      const t = now();
      const from = Math.max(tat.get(address) ?? t, t);
      if (from - t > toleranceMs) return Math.max(1, from - t - toleranceMs);
      if (!tat.has(address) && tat.size >= maxAddresses) makeRoom(t);
      tat.set(address, from + intervalMs);
      return 0;
    },
    refund(address) {
      const at = tat.get(address);
      if (at === undefined) return;
      if (at - intervalMs <= now()) tat.delete(address);
      else tat.set(address, at - intervalMs);
    },
  };
}
