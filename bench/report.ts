/** The results of one run: the aligned plain-text table and the JSON file in bench/results/. */
import fs from 'node:fs';
import path from 'node:path';
import type { E2ePhase } from './end-to-end';
import { peerGoals } from './peers/goals';
import type { Results } from './results';
import type { WriteStats } from './write-stats';
import { allPeakRss, ISSUE_REFERENCES, type TargetCheck } from './targets';

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => i > 0);
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] && i < cells.length - 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Which CPU resource was saturated, from the cores each process used (heuristic, stated as such). */
export function saturation(c: Record<string, number>, machineCores: number): string {
  const hot = Object.entries(c)
    .filter(([k, v]) => !['machine', 'other', 'postgres', 'rabbitmq'].includes(k) && v >= 0.85)
    .map(([k, v]) => `${k} one core busy (${f2(v)})`);
  const machine = c.machine ?? 0;
  const parts: string[] = [];
  if (machine >= 0.9 * machineCores) parts.push(`machine CPU saturated (${f2(machine)}/${machineCores}, other work ${f2(c.other ?? 0)})`);
  parts.push(...hot);
  return parts.length > 0 ? parts.join('; ') : 'no CPU saturated: bound by round trips, locks or waits';
}

/** Row writes per task by table (ins/upd(HOT)/del) and WAL bytes, e.g. "tasks 1 ins + 2 upd (0 HOT)". */
export function writesLine(w: WriteStats): string {
  const t = Object.entries(w.perTask)
    .map(([name, v]) => `${name} ${[v.ins ? `${f2(v.ins)} ins` : '', v.upd ? `${f2(v.upd)} upd (${f2(v.hot)} HOT)` : '', v.del ? `${f2(v.del)} del` : ''].filter(Boolean).join(' + ')}`)
    .join('; ');
  return `${f2(w.rowWritesPerTask)} row writes (${f2(w.indexedWritesPerTask)} touching indexes): ${t}; WAL ${f0(w.walBytesPerTask)} B (cluster-wide)`;
}

function cores(c: Record<string, number>): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'machine')
    .map(([k, v]) => `${k} ${f2(v)}`)
    .concat(c.machine !== undefined ? [`machine ${f2(c.machine)}`] : [])
    .join(', ');
}

export function renderTable(r: Results, checks: TargetCheck[]): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(
    `Tasker benchmark ${r.startedAt}: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, PostgreSQL ${m.postgres}, RabbitMQ ${m.rabbitmq}; ` +
      `load average ${m.loadAverageAtStart.map(f2).join(' ')} at start; ${f0(r.totalSeconds)} s`,
  );
  const ref = r.references;
  out.push('\nREFERENCE POINTS (same run)');
  out.push(
    table(
      ['reference', 'rate', 'p50 ms', 'p99 ms', 'vs issue'],
      [
        ['bare Koa, no I/O, 50 conns', `${f0(ref.bareKoa.reqPerSec)} req/s`, f1(ref.bareKoa.latencyMs.p50), f1(ref.bareKoa.latencyMs.p99), `x${f2(ref.bareKoa.reqPerSec / ISSUE_REFERENCES.bareKoaReqPerSec)}`],
        [`pg single-row INSERT, ${ref.pgInsert.clients} clients`, `${f0(ref.pgInsert.rowsPerSec)} rows/s`, '', '', `x${f2(ref.pgInsert.rowsPerSec / ISSUE_REFERENCES.pgInsertRowsPerSec)}`],
        [`AMQP confirmed publish, quorum, window ${ref.amqpPublish.window}`, `${f0(ref.amqpPublish.msgPerSec)} msg/s`, '', '', `x${f2(ref.amqpPublish.msgPerSec / ISSUE_REFERENCES.amqpPublishMsgPerSec)}`],
      ],
    ),
  );
  if (r.publishCosts.length > 0) {
    out.push(
      table(
        ['confirmed publish, quorum queue', 'msg/s', 'publisher CPU µs/msg', 'RabbitMQ CPU µs/msg'],
        r.publishCosts.map((c) => [c.mode, f0(c.msgPerSec), f1(c.publisherCpuUsPerMsg), f1(c.rabbitmqCpuUsPerMsg)]),
      ),
    );
  }
  out.push('\nINGEST: POST /tasks, API alone (no worker)');
  out.push(
    table(
      ['run', 'req/s', '/ bare Koa', 'p50 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', '2xx with row', 'api cores'],
      r.ingest.map((i) => [
        i.label,
        f0(i.reqPerSec),
        `${f1((i.reqPerSec / ref.bareKoa.reqPerSec) * 100)}%`,
        f1(i.latencyMs.p50),
        f1(i.latencyMs.p99),
        f1(i.latencyMs.max),
        String(i.non2xx),
        String(i.errors + i.timeouts),
        `${i.acceptedWithRow}/${i.ok2xx}${i.durable ? '' : ' LOST'}`,
        f2(i.cores.api ?? 0),
      ]),
    ),
  );
  if (r.tracing) {
    const t = r.tracing;
    out.push(
      `tracing (50 conns): off ${f0(t.offReqPerSec)} req/s; every trace exported ${f0(t.exportReqPerSec)} req/s ` +
        `(overhead ${f1(t.exportOverheadPct)}%); 10 % sampled ${f0(t.sampledReqPerSec)} req/s (overhead ${f1(t.sampledOverheadPct)}%); ` +
        `the sink got ${t.sinkRequests} exports, ${f0(t.sinkBytes / 1024)} KiB\n` +
        `  API CPU per request: off ${t.offCpuMsPerReq.toFixed(3)} ms; every trace exported ${t.exportCpuMsPerReq.toFixed(3)} ms ` +
        `(+${f0((t.exportCpuMsPerReq / t.offCpuMsPerReq - 1) * 100)}%); 10 % sampled ${t.sampledCpuMsPerReq.toFixed(3)} ms ` +
        `(+${f0((t.sampledCpuMsPerReq / t.offCpuMsPerReq - 1) * 100)}%)`,
    );
  }
  out.push('\nEND TO END: 1 API + N workers, no-op tasks (latencies from the task rows)');
  const e2eRow = (label: string, p: E2ePhase, offered: number) => [
    label,
    `${f0(offered)}${p.load.requests < offered ? ` (${f0(p.load.requests)} sent in cap)` : ''}`,
    `${f0(p.accepted)}${p.settled ? '' : ' (unsettled)'}`,
    f0(p.load.reqPerSec),
    f0(p.tasksPerSec),
    f1(p.stats.submitToStartMs.p50),
    f1(p.stats.submitToStartMs.p99),
    f1(p.stats.submitToDoneMs.p50),
    f1(p.stats.submitToDoneMs.p99),
  ];
  out.push(
    table(
      ['run', 'offered', 'accepted', 'submit/s', 'done/s', 'start p50', 'start p99', 'done p50', 'done p99'],
      r.endToEnd.flatMap((e) => [
        e2eRow(`${e.workers}w as fast as possible`, e.fast, Number(r.settings.e2eTasks)),
        e2eRow(`${e.workers}w paced ${String(r.settings.pacedRate)}/s`, e.paced, Number(r.settings.pacedRate) * Number(r.settings.pacedSeconds)),
      ]),
    ),
  );
  for (const e of r.endToEnd) {
    for (const [label, p] of [['fast', e.fast], ['paced', e.paced]] as const) {
      if (!p.settled) {
        const stuck = p.stats.nonTerminal.map((x) => `${x.n} ${x.status} (attempts ${x.attempts}, ${x.published ? 'published' : 'unpublished'})`).join(', ');
        out.push(`  ${e.workers}w ${label}: NOT ALL TERMINAL when measured (progress stalled 3 s): ${stuck}`);
      }
    }
    out.push(`  ${e.workers}w fast, CPU cores busy: ${cores(e.fast.cpu.cores)} -> ${saturation(e.fast.cpu.cores, m.cores)}`);
    out.push(`  ${e.workers}w fast, CPU s per 1,000 tasks: ${Object.entries(e.fast.cpuPer1000).map(([k, v]) => `${k} ${f2(v)}`).join(', ')}`);
    for (const [label, p] of [['fast', e.fast], ['paced', e.paced]] as const) {
      if (p.writes) out.push(`  ${e.workers}w ${label}, durable writes per task: ${writesLine(p.writes)}`);
    }
  }
  out.push('\nDRAIN: backlog of due no-op tasks in table and queue; 1 worker to half of it, then 2 fresh workers on the rest');
  out.push(
    table(
      ['workers', 'backlog', 'build s', 'done', 'tasks/s', 'wall tasks/s', 'CPU s/1k tasks', 'CPU cores busy'],
      r.drain.map((d) => [
        String(d.workers),
        f0(d.backlog),
        d.backlogBuildSeconds > 0 ? f1(d.backlogBuildSeconds) : '-',
        `${f0(d.done)}${d.complete ? '' : ' (capped)'}`,
        f0(d.tasksPerSec),
        f0(d.wallTasksPerSec),
        Object.entries(d.cpuPer1000).map(([k, v]) => `${k} ${f2(v)}`).join(', '),
        cores(d.cpu.cores),
      ]),
    ),
  );
  for (const d of r.drain) out.push(`  ${d.workers}w drain: ${saturation(d.cpu.cores, m.cores)}`);
  out.push('\nPEAK RSS (MB)');
  out.push(
    Object.entries(allPeakRss(r))
      .map(([k, v]) => `  ${k}: ${v === null ? 'n/a' : f1(v)}`)
      .join('\n'),
  );
  if (r.reliability) {
    const x = r.reliability;
    out.push(
      `\nRELIABILITY: worker SIGKILLed at ${f1(x.killedAtSeconds)} s (${x.inFlightAtKill} processing), respawned; LEASE_MS ${x.leaseMs}: ` +
        `accepted ${x.accepted}, with row ${x.acceptedWithRow}, terminal ${x.terminal}, lost ${x.lost}; all terminal ${f1(x.recoverySeconds)} s after the load ended`,
    );
  }
  if (r.peers.length > 0) {
    out.push('\nPEERS: the same no-op workload, same machine, same run (settings in BENCHMARKS.md and the JSON)');
    const t = (p: { p50: number; p99: number } | undefined) => (p ? `${f1(p.p50)} / ${f1(p.p99)}` : '-');
    const e1 = r.endToEnd.find((e) => e.workers === 1);
    const rows: string[][] = [];
    if (e1) {
      rows.push([
        'Tasker (1 API + 1 worker)',
        f0(e1.fast.tasksPerSec),
        t(e1.paced.stats.submitToStartMs),
        Object.entries(e1.fast.cpuPer1000).map(([k, v]) => `${k} ${f2(v)}`).join(', '),
      ]);
    }
    for (const p of r.peers) {
      if (p.skipped) rows.push([`${p.name}`, 'skipped', p.skipped, '']);
      else
        rows.push([
          `${p.name} ${p.version.startsWith('bench/') ? '' : p.version}`.trim(),
          p.fast ? `${f0(p.fast.tasksPerSec)}${p.fast.settled ? '' : ` (${p.fast.done}/${p.fast.submitted} in cap)`}` : '-',
          t(p.paced?.submitToStartMs),
          p.fast ? Object.entries(p.fast.cpuPer1000).map(([k, v]) => `${k} ${f2(v)}`).join(', ') : '',
        ]);
    }
    out.push(table(['system', 'e2e tasks/s', 'paced 500/s start p50 / p99 ms', 'CPU s per 1k (own processes)'], rows));
    const naive = r.peers.find((p) => p.ingest);
    if (naive?.ingest) {
      out.push(
        `  naive service ingest, 50 conns: ${f0(naive.ingest.reqPerSec)} req/s, p50 ${f1(naive.ingest.latencyMs.p50)} ms, p99 ${f1(naive.ingest.latencyMs.p99)} ms, ` +
          `API CPU ${naive.ingest.apiCpuMsPerReq.toFixed(3)} ms/req`,
      );
    }
    const goals = peerGoals(r);
    out.push('\nGOALS (issue 15): Tasker as ratios to the peers of this run');
    out.push(
      table(
        ['goal', 'target', 'measured', 'met'],
        goals.map((g) => [g.goal, g.target, g.measured, g.met === 'skipped' ? 'skipped' : g.met ? 'met' : 'NOT MET']),
      ),
    );
    // Goals bound by the same measurement (the three end-to-end ratios) share one line.
    const bounds = new Map<string, string[]>();
    for (const g of goals) if (g.met === false && g.boundBy) bounds.set(g.boundBy, [...(bounds.get(g.boundBy) ?? []), g.goal]);
    for (const [bound, names] of bounds) out.push(`  ${names.join('; ')}: ${bound}`);
  }
  out.push('\nTARGETS (issue 7)');
  out.push(
    table(
      ['figure', 'target', 'measured', 'met', 'target scaled to this run'],
      checks.map((c) => [c.name, c.target, c.measured, c.met ? 'met' : 'NOT MET', c.scaledTarget ?? '']),
    ),
  );
  const logged = Object.entries(r.serviceErrors);
  if (logged.length > 0) {
    out.push('\nSERVICE ERROR LOG LINES (samples in the JSON)');
    for (const [k, v] of logged) out.push(`  ${k}: ${v.count}`);
  }
  if (r.errors.length > 0) out.push(`\nERRORS (scenarios that failed):\n  ${r.errors.join('\n  ')}`);
  return out.join('\n');
}

export function writeJson(r: Results, checks: TargetCheck[]): string {
  const dir = path.resolve(__dirname, '..', '..', 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${r.startedAt.replace(/[:.]/g, '-')}.json`);
  const ref = r.references;
  const e1 = r.endToEnd.find((e) => e.workers === 1);
  const ratios = {
    ingest50PerBareKoa: (r.ingest.find((i) => i.label === 'ingest-50')?.reqPerSec ?? 0) / ref.bareKoa.reqPerSec,
    ingest200PerBareKoa: (r.ingest.find((i) => i.label === 'ingest-200')?.reqPerSec ?? 0) / ref.bareKoa.reqPerSec,
    e2e1wPerPgInsert: (e1?.fast.tasksPerSec ?? 0) / ref.pgInsert.rowsPerSec,
    e2e1wPerTarget: (e1?.fast.tasksPerSec ?? 0) / 3000,
    drain2wPerTarget: (r.drain.find((d) => d.workers === 2)?.tasksPerSec ?? 0) / 10_000,
    drain2wPerBullmq: (r.drain.find((d) => d.workers === 2)?.tasksPerSec ?? 0) / ISSUE_REFERENCES.bullmqTasksPerSec,
    bareKoaPerIssue: ref.bareKoa.reqPerSec / ISSUE_REFERENCES.bareKoaReqPerSec,
    pgInsertPerIssue: ref.pgInsert.rowsPerSec / ISSUE_REFERENCES.pgInsertRowsPerSec,
    amqpPublishPerIssue: ref.amqpPublish.msgPerSec / ISSUE_REFERENCES.amqpPublishMsgPerSec,
  };
  fs.writeFileSync(file, `${JSON.stringify({ ...r, ratios, issueReferences: ISSUE_REFERENCES, targets: checks, peerGoals: peerGoals(r) }, null, 2)}\n`);
  return file;
}
