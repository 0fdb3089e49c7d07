/** Nearest-rank percentile, the one definition every latency figure of the benchmark uses. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Sorts a copy and takes p50 and p99. */
export function p50p99(values: readonly number[]): { p50: number; p99: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}
