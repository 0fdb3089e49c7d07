/**
 * Every task type, registered in one place: payload schema, queue, timeout and retry policy.
 * The API validates submissions against it; the worker pairs each entry with its handler.
 */
import { z } from 'zod';

export interface TaskTypeDefinition {
  readonly name: string;
  /** Queue group; types sharing a group share a RabbitMQ queue. */
  readonly queue: string;
  readonly payloadSchema: z.ZodType;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
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

export const TASK_TYPES: readonly TaskTypeDefinition[] = [
  { name: 'simulate', queue: 'simulate', payloadSchema: simulatePayload, timeoutMs: 60_000, maxAttempts: 3 },
];

export const DEFAULT_TASK_TYPE = 'simulate';

export function findTaskType(name: string): TaskTypeDefinition | undefined {
  return TASK_TYPES.find((t) => t.name === name);
}

export function taskTypeNames(): string[] {
  return TASK_TYPES.map((t) => t.name);
}
