/**
 * Test-only handler (`test.record`) for the fault-injection suite. Every execution is recorded
 * (task id, attempt, pid) as it starts, and `record` mode applies an idempotent effect inside the
 * fenced completion, so the suite can count duplicate executions and duplicate effects.
 * Tables `test_executions` and `test_effects` are created by the test harness, not by migrations.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../services/core/db/database';
import { testPayload } from './test-task-types';
import { PermanentError, RetryLaterError, type TaskHandler } from '../../services/core/tasks/handler-contract';

export function createTestRecordHandler(db: Db): TaskHandler {
  return async (payload, ctx) => {
    const p = testPayload.parse(payload);
    await db.raw(`INSERT INTO test_executions (task_id, attempt, pid) VALUES (?, ?, ?)`, [ctx.taskId, ctx.attempt, process.pid]);
    if (p.mode === 'ignore-signal') {
      await sleep(p.durationMs); // a handler that never looks at its signal
      ctx.logger.info('test handler finished');
      return { ignored: true };
    }
    if (p.durationMs > 0 && p.mode !== 'crash') await sleep(p.durationMs, undefined, { signal: ctx.signal });
    switch (p.mode) {
      case 'record':
      case 'sleep':
        ctx.onCommit(async (trx) => {
          await trx.raw(`INSERT INTO test_effects (task_id) VALUES (?) ON CONFLICT DO NOTHING`, [ctx.taskId]);
        });
        return { pid: process.pid, attempt: ctx.attempt };
      case 'fail':
        if (p.failTimes === undefined || ctx.attempt <= p.failTimes) throw new Error(`test failure on attempt ${ctx.attempt}`);
        return { attempt: ctx.attempt };
      case 'permanent':
        throw new PermanentError('permanent test failure');
      case 'retry-later': {
        const runs = await db.raw<{ rows: { n: string }[] }>(`SELECT count(*) AS n FROM test_executions WHERE task_id = ?`, [ctx.taskId]);
        if (Number(runs.rows[0]?.n) <= (p.failTimes ?? 1)) throw new RetryLaterError('rate limited (test)', p.delayMs);
        return { executions: Number(runs.rows[0]?.n) };
      }
      case 'crash':
        // A handler that takes its process down (native crash, OOM kill): no cleanup runs.
        process.kill(process.pid, 'SIGKILL');
        return sleep(60_000);
      default:
        throw new PermanentError(`mode ${p.mode} needs the thread-isolated type test.thread`);
    }
  };
}
