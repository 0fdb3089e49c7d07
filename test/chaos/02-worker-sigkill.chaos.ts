/**
 * Scenario 2 — 2000 tasks while a worker is SIGKILLed 5 times at random moments and respawned:
 * lost 0, duplicate effects 0, and no task is non-terminal 60 s after the last kill. Killed attempts
 * come back through the lease reaper (LEASE_MS=2000, REAP_INTERVAL_MS=500).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertNoLossNoDuplicateEffect, createCluster, pct, publish, round, sleep, type Cluster } from './support/harness';

const TASKS = 2000;
const KILLS = 5;
let c: Cluster;

before(async () => {
  c = await createCluster();
  await c.startApi();
  await Promise.all([c.startWorker(), c.startWorker(), c.startWorker()]);
});
after(() => c?.close());

test('scenario 2: SIGKILL a worker 5 times under 2000 tasks', async (t) => {
  const t0 = performance.now();
  const loading = c.load({
    count: TASKS,
    // 20–80 ms of work so every kill lands on tasks in flight
    body: (i) => ({ type: 'test.record', payload: { mode: 'record', durationMs: 20 + (i % 4) * 20 } }),
    concurrency: 16,
    maxMs: 90_000,
  });
  const kills: { at: number; worker: string; inFlight: number }[] = [];
  const respawning = new Map<string, Promise<void>>();
  let lastKillAt = 0;
  const killTimes: number[] = [];
  const respawnErrors: string[] = [];
  for (let k = 0; k < KILLS; k++) {
    await sleep(700 + Math.random() * 1_300);
    // a random worker that is up (not still respawning from an earlier kill)
    // (if all are respawning, wait for one to come back first)
    if (c.workers().every((w) => respawning.has(w.name))) await Promise.race(respawning.values());
    const ws = c.workers().filter((w) => !respawning.has(w.name));
    const victim = ws[Math.floor(Math.random() * ws.length)]!;
    const own = victim.p.logs;
    const inFlight = own.filter((l) => l.msg === 'task started').length - own.filter((l) => l.msg === 'task done' || l.msg.startsWith('attempt failed')).length;
    lastKillAt = Date.now();
    killTimes.push(lastKillAt);
    const code = await c.kill(victim, 'SIGKILL');
    assert.equal(code, 'signal:SIGKILL');
    kills.push({ at: round((performance.now() - t0) / 1000), worker: victim.name, inFlight });
    const p = c.respawn(victim).then(
      () => void respawning.delete(victim.name),
      (e: unknown) => {
        respawning.delete(victim.name);
        respawnErrors.push(String(e));
      },
    );
    respawning.set(victim.name, p);
  }
  await Promise.all(respawning.values());
  const load = await loading;
  assert.equal(load.accepted.length, TASKS, `every request got 202 (rejected: ${JSON.stringify(load.rejected)})`);
  // Criterion: nothing non-terminal 60 s after the last kill.
  const remainingMs = lastKillAt + 60_000 - Date.now();
  await c.waitTerminal(load.accepted, Math.max(1_000, remainingMs)).catch(() => undefined);
  // Per task hit by a kill: from the kill to the task's terminal state.
  const crashed = await c.t.db.raw<{ rows: { crashed_at: string; finished_ms: string | null }[] }>(
    `SELECT (SELECT min(e->>'at') FROM jsonb_array_elements(errors) e WHERE e->>'reason' = 'crashed') AS crashed_at,
            extract(epoch FROM finished_at) * 1000 AS finished_ms
       FROM tasks WHERE id = ANY(?::uuid[]) AND errors @> '[{"reason":"crashed"}]'`,
    [load.accepted],
  );
  const perTaskRecovery = crashed.rows.map((row) => {
    const crashedAt = Date.parse(row.crashed_at);
    const killAt = Math.max(...killTimes.filter((k) => k <= crashedAt), killTimes[0]!);
    return (Number(row.finished_ms) - killAt) / 1000;
  });
  const r = await c.report('2-worker-sigkill', load.accepted, {
    since: lastKillAt,
    extra: {
      kills,
      respawnErrors,
      tasksWithCrashedAttempt: crashed.rows.length,
      killToTerminalSecondsP50: pct(perTaskRecovery, 50),
      killToTerminalSecondsMax: pct(perTaskRecovery, 100),
      submitSeconds: round(load.seconds),
      durationSeconds: round((performance.now() - t0) / 1000),
    },
  });
  publish(t, r);
  assert.equal(kills.length, KILLS);
  assert.deepEqual(respawnErrors, [], 'every killed worker came back');
  const stuck =
    r.nonTerminal === 0
      ? []
      : (
          await c.t.db.raw<{ rows: unknown[] }>(
            `SELECT id, status, attempts, published_at IS NOT NULL AS published, started_at IS NOT NULL AS started, run_after <= now() AS due,
                    lease_expires_at, (SELECT json_agg(json_build_array(old_status, new_status, attempts) ORDER BY at) FROM test_transitions x WHERE x.task_id = tasks.id) AS history
               FROM tasks WHERE id = ANY(?::uuid[]) AND status NOT IN ('done', 'failed', 'cancelled') LIMIT 10`,
            [load.accepted],
          )
        ).rows;
  assert.equal(r.nonTerminal, 0, `no task non-terminal 60 s after the last kill; the first of them: ${JSON.stringify(stuck)}`);
  assertNoLossNoDuplicateEffect(r);
  assert.equal(r.duplicateExecutions, 0, 'every re-execution is explained by a recorded crashed/failed attempt');
  assert.ok((r.recoverySeconds ?? 0) <= 60);
  assert.ok(crashed.rows.length > 0, 'the kills hit tasks in flight');
});
