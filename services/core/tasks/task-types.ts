/**
 * Every task type, registered in one place: payload schema, queue, timeout, retry policy and
 * isolation. The API validates submissions against it; the worker pairs each entry with its handler.
 */
import { z } from 'zod';

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export interface TaskTypeDefinition {
  readonly name: string;
  /** Queue group; types sharing a group share a RabbitMQ queue (and a worker deployment). */
  readonly queue: string;
  readonly payloadSchema: z.ZodType;
  /** Default per-attempt timeout; a task may ask for another one up to TASK_TIMEOUT_CEILING_MS. */
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** Overrides RETRY_BASE_MS / RETRY_MAX_MS for this type. */
  readonly backoff?: BackoffPolicy;
  /**
   * `thread` runs each attempt in a worker thread that is terminated on timeout or cancel, with a
   * heap limit: a handler that busy-loops, ignores its signal or leaks memory cannot stall the worker.
   */
  readonly isolation?: 'inline' | 'thread';
  readonly memoryLimitMb?: number;
  /** Largest accepted payload (serialized JSON bytes); 413 above it. */
  readonly maxPayloadBytes?: number;
}

/**
 * `simulate` reproduces the original service: sleep a random 2–5 s and echo the payload.
 * When the payload is an object, `durationMs` overrides the sleep and `failTimes: n` makes
 * the first n attempts throw.
 */
const simulatePayload = z.unknown().superRefine((p, ctx) => {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return;
  const o = p as Record<string, unknown>;
  if ('durationMs' in o) {
    const d = o.durationMs;
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > 3_600_000) {
      ctx.addIssue({ code: 'custom', path: ['durationMs'], message: 'must be a number between 0 and 3600000' });
    }
  }
  if ('failTimes' in o) {
    const f = o.failTimes;
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 100) {
      ctx.addIssue({ code: 'custom', path: ['failTimes'], message: 'must be an integer between 0 and 100' });
    }
  }
});

export const PRODUCTION_TASK_TYPES: readonly TaskTypeDefinition[] = [
  { name: 'simulate', queue: 'simulate', payloadSchema: simulatePayload, timeoutMs: 60_000, maxAttempts: 3, maxPayloadBytes: 256 * 1024 },
];

export const DEFAULT_TASK_TYPE = 'simulate';

/** The types this installation knows: the built-in ones plus those of its extensions (names must be unique). */
export function taskTypes(extensions: readonly { taskTypes?: readonly TaskTypeDefinition[] }[] = []): readonly TaskTypeDefinition[] {
  const all = [...PRODUCTION_TASK_TYPES, ...extensions.flatMap((e) => e.taskTypes ?? [])];
  const seen = new Set<string>();
  for (const t of all) {
    if (seen.has(t.name)) throw new Error(`task type ${t.name} is registered twice`);
    seen.add(t.name);
  }
  return all;
}
