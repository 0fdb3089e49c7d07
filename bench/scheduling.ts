/**
 * `npm run bench -- --scheduling`: the figures of issue 17 (who runs next) beside their goals —
 * lateness of delayed tasks with 100,000 stored (lateness.ts), a high-priority task jumping a
 * 10,000-task backlog and a client's task jumping another client's 50,000 (jump-ahead.ts), the
 * weighted share of three clients over time and a per-client limit (weighted-share.ts). Writes
 * bench/results/scheduling-<ts>.json and draws the share over time (docs/scheduling-fairness.svg at
 * BENCH_SCALE=1, next to the JSON otherwise). About four minutes; its own database and prefix.
 */
import { guardedStep } from './guarded-step';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH } from './config';
import { fairnessSvg } from './fairness-svg';
import { line } from './feature-support';
import { createBenchEnv, serverVersions, type BenchEnv } from './infra';
import { priorityJumpRun, starvingClientRun, type JumpRun } from './jump-ahead';
import { latenessRun, type LatenessRun } from './lateness';
import { killAll, serviceErrors, setScenario } from './processes';
import { createClientKeys, schedulingEnv } from './scheduling-support';
import { clientLimitRun, weightedShareRun, type LimitRun, type ShareRun } from './weighted-share';

const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const GOAL_MS = 1_000;
const SHARE_TOLERANCE = 0.05;

export async function scheduling(say: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = os.loadavg();
  let env: BenchEnv | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping services and removing the benchmark database and queues\n`);
    killAll();
    void (env?.cleanup() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const errors: string[] = [];
  const loads: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    // BENCH_ONLY=weighted,priority (first words of the step names) runs only those phases.
    if (BENCH.only.length > 0 && !BENCH.only.includes(name.split(/[ :]/)[0]!)) return null;
    loads[name] = os.loadavg()[0]!;
    say(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${name} (load average ${f(loads[name], 2)})`);
    setScenario(name);
    return guardedStep(name, fn, errors);
  };
  try {
    say(`Tasker scheduling benchmark (issue 17, scale ${BENCH.scale}): setting up a fresh database and AMQP prefix`);
    env = await createBenchEnv();
    const e = env;
    const versions = await serverVersions(e.db);
    const keys = await createClientKeys(e, ['a', 'b', 'c']);
    const clientEnv = schedulingEnv(e);

    const late = await step(`lateness: ${f(BENCH.schedDelayedTasks)} delayed tasks stored, ${f(BENCH.schedProbeTasks)} probes due meanwhile`, () =>
      latenessRun(e, clientEnv, keys.a!),
    );
    const prio = await step(`priority jump: ${f(BENCH.schedPriorityBacklog)} low-priority tasks queued`, () =>
      priorityJumpRun(e, clientEnv, keys, BENCH.schedPriorityBacklog, BENCH.schedJumpSamples),
    );
    const starving = await step(`starving client: a holds ${f(BENCH.schedStarvingBacklog)} tasks, b submits one`, () =>
      starvingClientRun(e, clientEnv, keys, BENCH.schedStarvingBacklog, BENCH.schedJumpSamples),
    );
    const share = await step(`weighted share: a=3, b=2, c=1 for ${BENCH.schedShareSeconds} s`, () => weightedShareRun(e, clientEnv, keys));
    const limit = await step('per-client limit: CLIENT_MAX_RUNNING a=4', () => clientLimitRun(e, clientEnv, keys));
    const loadAverageAtEnd = os.loadavg();

    say(`\nissue 17: who runs next (load average ${loadAverageAtStart.map((x) => f(x, 2)).join(' ')} at start, ${loadAverageAtEnd.map((x) => f(x, 2)).join(' ')} at end; ${os.availableParallelism()} cores, shared)`);
    if (late) report(say, late);
    for (const j of [prio, starving]) if (j) reportJump(say, j);
    if (share) reportShare(say, share);
    if (limit) reportLimit(say, limit);
    for (const [k, v] of serviceErrors) say(`service errors: ${k}: ${v.count} (e.g. ${v.samples[0]?.slice(0, 300)})`);
    for (const m of errors) say(`FAILED ${m}`);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    if (share) {
      const title = `Each client's share of the starts, per second (CLIENT_WEIGHTS a=3,b=2,c=1)`;
      const shareLoad = Object.entries(loads).find(([k]) => k.startsWith('weighted share'))?.[1] ?? NaN;
      const subtitle = `${share.workers} workers × ${share.slots} slots, ${share.taskMs} ms tasks, every backlog non-empty; ${startedAt.slice(0, 16)}Z, 2 shared cores, load average ${f(shareLoad, 1)}`;
      // The last second is cut short by the end of the run: not drawn.
      const svg = fairnessSvg(share.buckets.slice(0, -1), share.weights, title, subtitle);
      const svgFile = BENCH.scale === 1 ? path.join(__dirname, '..', '..', 'docs', 'scheduling-fairness.svg') : path.join(dir, `scheduling-fairness-${stamp}.svg`);
      fs.writeFileSync(svgFile, svg);
      say(`SVG: ${svgFile}`);
    }
    const file = path.join(dir, `scheduling-${stamp}.json`);
    const machine = { cores: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, ...versions, loadAverageAtStart, loadAverageAtEnd };
    fs.writeFileSync(
      file,
      JSON.stringify({ startedAt, totalSeconds: (performance.now() - t0) / 1000, scale: BENCH.scale, machine, loadAtEachStep: loads, lateness: late, priorityJump: prio, starvingClient: starving, weightedShare: share, clientLimit: limit, serviceErrors: Object.fromEntries(serviceErrors), errors }, null, 2),
    );
    say(`JSON: ${file} (${f((performance.now() - t0) / 1000)} s)`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    killAll();
    await env?.cleanup().catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`));
  }
}

function report(say: (s: string) => void, l: LatenessRun): void {
  say(`lateness (${l.workers} workers; started_at − run_after from the rows)`);
  say(line(`storing ${f(l.stored)} delayed tasks, batches of 1,000, 4 in flight`, `${f(l.storeSeconds, 1)} s (${f(l.storePerSec)}/s)`, 'reported', null));
  say(line('  delayed tasks published before due (max over the run)', f(l.probeWindow.maxPublishedBeforeDue), '0', l.probeWindow.maxPublishedBeforeDue === 0 && l.publishedAfterStoring === 0));
  const p = l.probe;
  say(line(`${f(l.probes)} tasks due over ${f(l.probeWindowSeconds, 1)} s, ${f(l.probeWindow.minStoredNotDue)}+ stored: p50/p99/max`, `${f(p.p50)} / ${f(p.p99)} / ${f(p.max)} ms`, `p99 ≤ ${f(GOAL_MS)} ms`, p.p99 <= GOAL_MS && p.notStarted === 0));
  say(line('  not started in time / started before due', `${f(p.notStarted)} / ${f(p.early)}`, '0 / 0', p.notStarted === 0 && p.early === 0));
  const w = l.probeWindow;
  say(line('  max ready msgs / scaling signal / due waiting', `${f(w.maxReady)} / ${f(w.maxScalingSignal)} / ${f(w.maxDueWaiting)}`, `≤ ${f(l.probes)} (due only)`, w.maxReady <= l.probes && w.maxScalingSignal <= l.probes));
  const b = l.burst;
  say(line(`the ${f(l.stored)} coming due over ${f(BENCH.schedSpreadSeconds)} s: p50/p99/max`, `${f(b.p50)} / ${f(b.p99)} / ${f(b.max)} ms`, `p99 ≤ ${f(GOAL_MS)} ms`, b.p99 <= GOAL_MS && b.notStarted === 0));
  say(line(`  starts/s; not started ${f(b.capSeconds)} s after the first was due`, `${f(b.startsPerSec)}/s; ${f(b.notStarted)}`, 'reported', null));
  say(line('  max ready msgs / scaling signal while they came due', `${f(b.maxReady)} / ${f(b.maxScalingSignal)}`, 'reported', null));
  if (b.notStarted > 0) {
    const published = b.stuck.filter((x) => x.published).length;
    say(`  of the first ${b.stuck.length} not started: ${published} published (message spent or still queued), ${b.stuck.length - published} never published; statuses ${[...new Set(b.stuck.map((x) => x.status))].join(', ')}`);
  }
}

function reportJump(say: (s: string) => void, j: JumpRun): void {
  const what = j.name === 'priority' ? `priority jump: priority 5 after ${f(j.backlog)} at −5 (client a)` : `starving client: b's task, a holding ${f(j.backlog)}`;
  say(`${what} (1 worker, ${j.slots} slots, ${j.taskMs} ms tasks; backlog stored in ${f(j.submitSeconds, 1)} s)`);
  say(line(`  started_at − created_at, ${j.samples.length} tasks: p50 / max`, `${f(j.wait.p50)} / ${f(j.wait.max)} ms`, `≤ ${f(GOAL_MS)} ms`, j.samples.length > 0 && j.wait.max <= GOAL_MS && j.notStarted === 0));
  say(line('  backlog waiting at submit (min) / overtook it (max)', `${f(Math.min(...j.samples.map((s) => s.backlogWaiting)))} / ${f(Math.max(0, ...j.samples.map((s) => s.overtook)))}`, 'reported', null));
  say(line('  backlog starts/s before the first (claim pace)', `${f(j.backlogStartsPerSec)}/s`, `reported (≤ ${f((j.slots * 1000) / j.taskMs)})`, null));
}

function reportShare(say: (s: string) => void, s: ShareRun): void {
  const cs = Object.keys(s.weights);
  say(`weighted share (${s.workers} workers × ${s.slots} slots, ${s.taskMs} ms tasks, ${f(s.seconds)} s, ${f(s.startsPerSec)} starts/s)`);
  say(line(`  mean share per second ${cs.join(' / ')}`, cs.map((c) => f(s.meanShare[c]!, 3)).join(' / '), `${cs.map((c) => f(s.weightShare[c]!, 3)).join(' / ')} ± ${SHARE_TOLERANCE}`, s.maxDeviation <= SHARE_TOLERANCE));
  say(line('  worst one-second bucket, |share − weight share|', f(s.worstBucketDeviation, 3), 'reported', null));
  say(line('  backlog left at the end (all > 0: no client ran dry)', cs.map((c) => f(s.leftAtEnd[c]!)).join(' / '), '> 0', cs.every((c) => s.leftAtEnd[c]! > 0)));
}

function reportLimit(say: (s: string) => void, l: LimitRun): void {
  say(`per-client limit (CLIENT_MAX_RUNNING a=${l.limit}, ${f(l.seconds)} s, a and b with backlogs)`);
  say(line(`  most of a's tasks running at one instant`, f(l.maxRunning.a!), `≤ ${l.limit}`, l.maxRunning.a! <= l.limit));
  say(line(`  most of b's (unlimited)`, f(l.maxRunning.b!), 'reported', null));
  say(line(`  a's starts/s at its limit`, `${f(l.startsPerSec.a!)}/s`, `reported (ideal ${f(l.limitedIdealPerSec)})`, null));
}
