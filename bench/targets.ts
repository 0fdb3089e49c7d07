/**
 * The targets of issue 7, each evaluated against this run's figures. A target stated as an absolute
 * rate on "this machine" is also shown scaled by how this run's reference point compares with the
 * issue's, so a miss caused by a loaded machine can be told from a real one (met is judged on the
 * unscaled target).
 */
import type { Results } from './results';

/** Reference points the issue quotes for this machine (midpoints of its ranges). */
export const ISSUE_REFERENCES = {
  bareKoaReqPerSec: 12_500,
  pgInsertRowsPerSec: 8_500,
  amqpPublishMsgPerSec: 38_000,
  straightforwardIngestReqPerSec: 3_300,
  straightforwardE2eTasksPerSec: 1_800,
  bullmqTasksPerSec: 9_400,
} as const;

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
  /** The unscaled target multiplied by this run's reference / the issue's, where it applies. */
  scaledTarget?: string;
  boundBy?: string;
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);

export function checkTargets(r: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  const koa = r.references.bareKoa.reqPerSec;
  const pgFactor = r.references.pgInsert.rowsPerSec / ISSUE_REFERENCES.pgInsertRowsPerSec;
  const koaFactor = koa / ISSUE_REFERENCES.bareKoaReqPerSec;
  const i50 = r.ingest.find((x) => x.label === 'ingest-50');
  if (i50) {
    out.push({
      name: 'ingest 50 conns / bare Koa',
      target: '>= 50% (~6k req/s)',
      measured: `${f1((i50.reqPerSec / koa) * 100)}% (${f0(i50.reqPerSec)} req/s)`,
      met: i50.reqPerSec >= 0.5 * koa,
      scaledTarget: `${f0(0.5 * koa)} req/s`,
    });
    out.push({ name: 'ingest 50 conns p99', target: '<= 25 ms', measured: `${f1(i50.latencyMs.p99)} ms`, met: i50.latencyMs.p99 <= 25 });
  }
  const durable = r.ingest.every((x) => x.durable);
  out.push({
    name: 'ingest: every 2xx has a committed row',
    target: 'all',
    measured: r.ingest.map((x) => `${x.acceptedWithRow}/${x.ok2xx}`).join(', '),
    met: durable,
  });
  const e1 = r.endToEnd.find((x) => x.workers === 1);
  const e2 = r.endToEnd.find((x) => x.workers === 2);
  if (e1) {
    out.push({
      name: 'e2e 1 API + 1 worker',
      target: '>= 3,000 tasks/s',
      measured: `${f0(e1.fast.tasksPerSec)} tasks/s`,
      met: e1.fast.tasksPerSec >= 3000,
      scaledTarget: `${f0(3000 * Math.min(1, koaFactor, pgFactor))} tasks/s`,
    });
    out.push({
      name: 'paced 500/s (1 worker) submit->start p50',
      target: '<= 5 ms',
      measured: `${f1(e1.paced.stats.submitToStartMs.p50)} ms`,
      met: e1.paced.stats.submitToStartMs.p50 <= 5,
    });
    out.push({
      name: 'paced 500/s (1 worker) submit->start p99',
      target: '<= 25 ms',
      measured: `${f1(e1.paced.stats.submitToStartMs.p99)} ms`,
      met: e1.paced.stats.submitToStartMs.p99 <= 25,
    });
  }
  if (e1 && e2) {
    out.push({
      name: 'e2e 2 workers vs 1 worker',
      target: 'raises throughput',
      measured: `x${(e2.fast.tasksPerSec / Math.max(1, e1.fast.tasksPerSec)).toFixed(2)} (${f0(e2.fast.tasksPerSec)} tasks/s)`,
      met: e2.fast.tasksPerSec > e1.fast.tasksPerSec * 1.05,
    });
  }
  const d2 = r.drain.find((x) => x.workers === 2);
  if (d2) {
    out.push({
      name: 'drain 2 workers',
      target: '>= 10,000 tasks/s',
      measured: `${f0(d2.tasksPerSec)} tasks/s${d2.complete ? '' : ` (capped: ${f0(d2.done)}/${f0(d2.backlog)})`}`,
      met: d2.tasksPerSec >= 10_000,
      scaledTarget: `${f0(10_000 * Math.min(1, pgFactor))} tasks/s`,
    });
  }
  // Judged on the default configuration (tracing off: no exporter); the tracing runs load the SDK
  // and hold spans for export, and their peak is shown beside it.
  const rss = Object.entries(allPeakRss(r)).filter((e): e is [string, number] => e[1] !== null);
  const max = (xs: [string, number][]) => xs.reduce<[string, number]>((a, b) => (b[1] > a[1] ? b : a), ['-', 0]);
  const worst = max(rss.filter(([k]) => !k.includes('otlp')));
  const traced = max(rss.filter(([k]) => k.includes('otlp')));
  out.push({
    name: 'peak RSS per process (max, tracing off)',
    target: '<= 150 MB',
    measured: `${f1(worst[1])} MB (${worst[0]}); tracing on: ${f1(traced[1])} MB`,
    met: worst[1] <= 150,
  });
  if (r.tracing) {
    out.push({
      name: 'tracing overhead on ingest (every trace exported)',
      target: '<= 15%',
      measured: `${f1(r.tracing.exportOverheadPct)}% (10 % sampled: ${f1(r.tracing.sampledOverheadPct)}%)`,
      met: r.tracing.exportOverheadPct <= 15,
    });
  }
  if (r.reliability) {
    out.push({
      name: 'worker SIGKILL under load: lost',
      target: '0',
      measured: `${r.reliability.lost} of ${r.reliability.accepted}`,
      met: r.reliability.lost === 0,
    });
  }
  return out;
}

export function allPeakRss(r: Results): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const i of r.ingest) out[`api (${i.label})`] = i.apiPeakRssMb;
  for (const e of r.endToEnd) for (const [k, v] of Object.entries(e.peakRssMb)) out[`${k} (e2e ${e.workers}w)`] = v;
  for (const d of r.drain) for (const [k, v] of Object.entries(d.peakRssMb)) out[`${k} (drain ${d.workers}w)`] = v;
  return out;
}
