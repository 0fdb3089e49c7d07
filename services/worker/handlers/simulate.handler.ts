/**
 * The demo task of the original service: sleep a random time in the configured range and echo the
 * payload. For demos and tests, an object payload's `durationMs` overrides the sleep and
 * `failTimes: n` makes the first n attempts throw.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskHandler } from '../../core/tasks/handler-contract';

export function createSimulateHandler(minMs: number, maxMs: number): TaskHandler {
  return async (payload, ctx) => {
    const opts = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : {};
    const { durationMs, failTimes } = opts as { durationMs?: number; failTimes?: number };
    const ms = durationMs ?? minMs + Math.floor(Math.random() * (maxMs - minMs + 1));
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
    if (failTimes !== undefined && ctx.attempt <= failTimes) {
      throw new Error(`simulated failure on attempt ${ctx.attempt} of ${failTimes} failing`);
    }
    return { echo: payload, slept_ms: ms, attempt: ctx.attempt };
  };
}
