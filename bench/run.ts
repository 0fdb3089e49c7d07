/**
 * `npm run bench`: measures the reference points, ingest, end-to-end, drain, cost and reliability
 * of Tasker on this machine in one run (see BENCHMARKS.md), prints the table and writes
 * bench/results/<timestamp>.json. Creates its own database and AMQP prefix and removes them at the
 * end, also on failure or Ctrl-C.
 */
import { guardedStep } from './guarded-step';
import os from 'node:os';
import { BENCH } from './config';
import { drain, type DrainRun } from './drain';
import { endToEnd, type E2eRun } from './end-to-end';
import { features } from './features';
import { createBenchEnv, serverVersions, type BenchEnv } from './infra';
import { ingestRun, type IngestRun } from './ingest';
import { startOtlpSink, type OtlpSink } from './otlp-sink';
import { libraryPeerRun, naiveRun, LIBRARY_PEERS, type PeerRun } from './peers/peer-runs';
import { killAll, serviceErrors, setScenario } from './processes';
import { waitForQuiet } from './proc-stats';
import { publishCost } from './publish-cost';
import { amqpPublish, bareKoa, pgInsert } from './reference';
import { reliability, type ReliabilityRun } from './reliability';
import { renderTable, writeJson } from './report';
import type { Results } from './results';
import { scheduling } from './scheduling';
import { checkTargets } from './targets';

const say = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<number> {
  if (process.argv.includes('--features')) return features(say); // issue 16's figures only
  if (process.argv.includes('--scheduling')) return scheduling(say); // issue 17's figures only
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = os.loadavg();
  let env: BenchEnv | null = null;
  let sink: OtlpSink | null = null;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping services and removing the benchmark database and queues\n`);
    killAll();
    void (env?.cleanup() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAll);

  const errors: string[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    const s = performance.now();
    const group = name.split(':')[0]!.split(' ')[0]!;
    const groupKey = group === 'end' ? 'e2e' : group;
    if (BENCH.only.length > 0 && groupKey !== 'reference' && !BENCH.only.includes(groupKey)) return null;
    if ((s - t0) / 1000 > BENCH.budgetSeconds) {
      errors.push(`${name}: skipped, the run is past its ${BENCH.budgetSeconds} s budget`);
      say(`[${((s - t0) / 1000).toFixed(0).padStart(3)} s] ${name}: SKIPPED (time budget)`);
      return null;
    }
    const waited = await waitForQuiet(10_000);
    say(`[${((s - t0) / 1000).toFixed(0).padStart(3)} s] ${name}${waited > 1 ? ` (after ${waited.toFixed(1)} s waiting for a quiet machine)` : ''}`);
    setScenario(name.split(',')[0] ?? name);
    return guardedStep(name, fn, errors);
  };

  try {
    say(`Tasker benchmark (scale ${BENCH.scale}): setting up a fresh database and AMQP prefix`);
    env = await createBenchEnv();
    const e = env;
    const versions = await serverVersions(e.db);
    sink = await startOtlpSink();
    const otlp = sink;

    const koa = await step('reference: bare Koa', () => bareKoa());
    const ins = await step('reference: PostgreSQL single-row inserts', () => pgInsert(e));
    const pub = await step('reference: RabbitMQ confirmed publishes', () => amqpPublish(e));
    if (!koa || !ins || !pub) throw new Error(`a reference point failed: ${errors.join('; ')}`);
    const publishCosts = (await step('reference: what a confirmed publish costs, per message and per batch', () => publishCost(e))) ?? [];

    const ingest: IngestRun[] = [];
    const push = (x: IngestRun | null) => {
      if (x) ingest.push(x);
      return x;
    };
    const off = push(await step('ingest: 50 connections (tracing off, the default without an exporter)', () => ingestRun(e, 'ingest-50', 50)));
    const exp = push(
      await step('ingest: 50 connections, tracing on: every trace exported over OTLP to a local sink', () =>
        ingestRun(e, 'ingest-50-otlp', 50, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint }),
      ),
    );
    const sampled = push(
      await step('ingest: 50 connections, tracing on, 10 % of traces sampled and exported', () =>
        ingestRun(e, 'ingest-50-otlp-10pct', 50, {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '0.1',
        }),
      ),
    );
    push(await step('ingest: 200 connections', () => ingestRun(e, 'ingest-200', 200)));
    // CPU per request as well as throughput: at 50 connections the API is partly latency-bound, so
    // tracing's extra CPU shows in the throughput only once the process is saturated.
    const cpuMs = (x: IngestRun) => ((x.cores.api ?? 0) / Math.max(1, x.reqPerSec)) * 1000;
    const tracing =
      off && exp && sampled
        ? {
            offCpuMsPerReq: cpuMs(off),
            exportCpuMsPerReq: cpuMs(exp),
            sampledCpuMsPerReq: cpuMs(sampled),
            offReqPerSec: off.reqPerSec,
            exportReqPerSec: exp.reqPerSec,
            sampledReqPerSec: sampled.reqPerSec,
            exportOverheadPct: (1 - exp.reqPerSec / off.reqPerSec) * 100,
            sampledOverheadPct: (1 - sampled.reqPerSec / off.reqPerSec) * 100,
            sinkRequests: otlp.stats().requests,
            sinkBytes: otlp.stats().bytes,
          }
        : null;

    const e2e: E2eRun[] = [];
    for (const w of [1, 2]) {
      const x = await step(`end to end: 1 API + ${w} worker(s), ${BENCH.e2eTasks} tasks, then ${BENCH.pacedRate}/s for ${BENCH.pacedSeconds} s`, () =>
        endToEnd(e, w),
      );
      if (x) e2e.push(x);
    }
    const rel: ReliabilityRun | null = await step('reliability: worker SIGKILL under paced load', () => reliability(e));
    const drains: DrainRun[] =
      (await step(`drain: ${BENCH.drainTasks} backlog, 1 worker then 2 workers (cap ${BENCH.drainCapSeconds} s each)`, () => drain(e))) ?? [];

    // The peers on the same machine in the same run (issue 15): the ratios are what we publish.
    const peers: PeerRun[] = [];
    if (BENCH.peers) {
      const naive = await step('peers: naive Koa + pg + amqplib service (ingest, end to end, paced)', () => naiveRun(e));
      if (naive) peers.push(naive);
      for (const peer of LIBRARY_PEERS) {
        const x = await step(`peers: ${peer.name} ${peer.version} (end to end, paced)`, () => libraryPeerRun(e, peer));
        if (x) peers.push(x);
      }
    }

    const results: Results = {
      startedAt,
      totalSeconds: (performance.now() - t0) / 1000,
      machine: {
        cores: os.availableParallelism(),
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        postgres: versions.postgres,
        rabbitmq: versions.rabbitmq,
        loadAverageAtStart,
        loadAverageAtEnd: os.loadavg(),
      },
      // The services' settings as spawned, without this run's connection URLs and prefix.
      settings: { ...BENCH, serviceEnv: Object.fromEntries(Object.entries(e.serviceEnv).filter(([k]) => !/_URL$|^AMQP_PREFIX$/.test(k))) },
      references: { bareKoa: koa, pgInsert: ins, amqpPublish: pub },
      publishCosts,
      ingest,
      tracing,
      endToEnd: e2e,
      drain: drains,
      reliability: rel,
      peers,
      serviceErrors: Object.fromEntries(serviceErrors),
      errors,
    };
    const checks = checkTargets(results);
    say(`\n${renderTable(results, checks)}`);
    say(`\nJSON: ${writeJson(results, checks)}`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    killAll();
    await sink?.close().catch(() => undefined);
    await env?.cleanup().catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`));
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
