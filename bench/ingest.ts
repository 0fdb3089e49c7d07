/**
 * Ingest: POST /tasks against one API process with no worker running, so the figure is the API
 * alone. After each run, every task_id answered with a 2xx is looked up: a 202 must mean a
 * committed row. Also the tracing variants (OTLP export to a local sink; SDK disabled).
 */
import { BENCH } from './config';
import type { BenchEnv } from './infra';
import { cannon, type LoadResult } from './load';
import { startApi, sleep } from './processes';
import { CpuMeter } from './proc-stats';

export interface IngestRun extends LoadResult {
  label: string;
  /** 2xx answers whose row exists (must equal ok2xx). */
  acceptedWithRow: number;
  /** Rows the run added; may exceed ok2xx by requests still in flight when the load stopped. */
  rowsAdded: number;
  durable: boolean;
  apiPeakRssMb: number | null;
  cores: Record<string, number>;
}

export async function ingestRun(env: BenchEnv, label: string, connections: number, extraEnv: Record<string, string> = {}): Promise<IngestRun> {
  await env.reset();
  const api = await startApi({ ...env.serviceEnv, ...extraEnv }, 'api');
  try {
    const url = `${api.url}/tasks`;
    await cannon({ url, connections, seconds: BENCH.warmupSeconds });
    await sleep(300);
    const before = await countTasks(env);
    const meter = new CpuMeter({ api: api.svc.pid, bench: process.pid });
    const r = await cannon({ url, connections, seconds: BENCH.loadSeconds, collectIds: true });
    const usage = meter.stop();
    await sleep(500); // requests in flight at the cutoff finish committing
    const rowsAdded = (await countTasks(env)) - before;
    const found = await env.db.query<{ n: string }>('SELECT count(*) AS n FROM tasks WHERE id = ANY($1::uuid[])', [r.acceptedIds]);
    const acceptedWithRow = Number(found.rows[0]?.n ?? 0);
    const { acceptedIds: _ids, ...rest } = r;
    return {
      ...rest,
      acceptedIds: [],
      label,
      acceptedWithRow,
      rowsAdded,
      durable: acceptedWithRow === r.ok2xx && r.acceptedIds.length === r.ok2xx,
      apiPeakRssMb: api.svc.peakRssMb(),
      cores: usage.cores,
    };
  } finally {
    await api.svc.stop();
  }
}

async function countTasks(env: BenchEnv): Promise<number> {
  const r = await env.db.query<{ n: string }>('SELECT count(*) AS n FROM tasks');
  return Number(r.rows[0]?.n ?? 0);
}
