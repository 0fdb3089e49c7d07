/**
 * Load for the library peers, shaped like the HTTP load Tasker gets: closed loop (N submitters,
 * each submitting its next job when the last was accepted, like autocannon's connections) and open
 * loop (a fixed offered rate, evenly spaced, like `paced`).
 */
import { p50p99 } from '../percentile';
import type { Producer } from './peer';

export interface Submitted {
  submitted: number;
  errors: number;
  /** Date.now() of the first submit and performance-clock seconds the submission took. */
  firstAt: number;
  seconds: number;
  latencyMs: { p50: number; p99: number };
}

function summary(lat: number[], errors: number, firstAt: number, t0: number): Submitted {
  return { submitted: lat.length, errors, firstAt, seconds: (performance.now() - t0) / 1000, latencyMs: p50p99(lat) };
}

export async function closedLoop(p: Producer, concurrency: number, amount: number, capSeconds: number): Promise<Submitted> {
  const lat: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const firstAt = Date.now();
  const deadline = t0 + capSeconds * 1000;
  const lane = async () => {
    while (next < amount && performance.now() < deadline) {
      next++;
      const s = performance.now();
      try {
        await p.submit();
        lat.push(performance.now() - s);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return summary(lat, errors, firstAt, t0);
}

export async function openLoop(p: Producer, rate: number, seconds: number): Promise<Submitted> {
  const lat: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  const firstAt = Date.now();
  let sent = 0;
  while (sent < total && performance.now() - t0 < seconds * 1000 + 1000) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (sent < due) {
      sent++;
      const s = performance.now();
      const x = p
        .submit()
        .then(() => void lat.push(performance.now() - s))
        .catch(() => void errors++)
        .finally(() => inflight.delete(x));
      inflight.add(x);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([Promise.all([...inflight]), new Promise((r) => setTimeout(r, 15_000))]);
  return summary(lat, errors, firstAt, t0);
}
