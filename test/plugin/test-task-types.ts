/**
 * Test-only task types for the fault-injection suite, registered only with
 * the test extension (test-extension.ts). `test.record` runs inline; `test.thread` runs in a worker thread.
 */
import { z } from 'zod';
import type { TaskTypeDefinition } from '../../services/core/tasks/task-types';

export const testPayload = z.strictObject({
  /** record: record the execution and an idempotent effect; sleep: honour the signal while sleeping;
   * fail: always throw; permanent / retry-later: the typed errors; crash: kill the worker process;
   * busy: spin ignoring the signal (thread); hog: allocate until the heap limit (thread);
   * context: return the context the handler was given (thread); ignore-signal: sleep through any abort,
   * then log 'test handler finished' (inline). */
  mode: z.enum(['record', 'sleep', 'fail', 'permanent', 'retry-later', 'crash', 'busy', 'hog', 'context', 'ignore-signal']).default('record'),
  durationMs: z.number().int().min(0).max(600_000).default(0),
  /** retry-later: how long to wait; fail: throw only on the first n attempts when set. */
  delayMs: z.number().int().min(0).max(600_000).default(100),
  failTimes: z.number().int().min(0).max(100).optional(),
});
export type TestPayload = z.infer<typeof testPayload>;

export const TEST_TASK_TYPES: readonly TaskTypeDefinition[] = [
  {
    name: 'test.record',
    queue: 'test',
    payloadSchema: testPayload,
    timeoutMs: 5_000,
    maxAttempts: 3,
    backoff: { baseMs: 200, maxMs: 400 },
  },
  {
    name: 'test.thread',
    queue: 'test',
    payloadSchema: testPayload,
    timeoutMs: 2_000,
    maxAttempts: 2,
    backoff: { baseMs: 100, maxMs: 200 },
    isolation: 'thread',
    memoryLimitMb: 64,
  },
];
