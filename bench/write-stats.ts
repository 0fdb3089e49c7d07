/**
 * Durable writes per task, from PostgreSQL's own counters (issue 15): row versions inserted,
 * updated (and how many of those were HOT: no index touched), deleted, per table of the benchmark
 * database (`pg_stat_user_tables`, this database only), and WAL bytes (cluster-wide: other
 * databases' work on the machine counts too, so read it from a quiet run). These do not depend on
 * how busy the machine is, unlike CPU and throughput.
 */
import type { BenchEnv } from './infra';
import { sleep } from './processes';

interface Snapshot {
  lsn: string;
  tables: Record<string, { ins: number; upd: number; hot: number; del: number }>;
}

export interface WriteStats {
  /** Per task, by table: row versions inserted / updated (of which HOT) / deleted. */
  perTask: Record<string, { ins: number; upd: number; hot: number; del: number }>;
  /** All row writes (ins + upd + del over every table) per task. */
  rowWritesPerTask: number;
  /** Index-touching writes per task: inserts and non-HOT updates (a delete touches no index). */
  indexedWritesPerTask: number;
  walBytesPerTask: number;
}

async function counters(env: BenchEnv): Promise<Snapshot['tables']> {
  const r = await env.db.query<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del FROM pg_stat_user_tables`,
  );
  const tables: Snapshot['tables'] = {};
  for (const x of r.rows) tables[x.relname] = { ins: Number(x.ins), upd: Number(x.upd), hot: Number(x.hot), del: Number(x.del) };
  return tables;
}

/**
 * PostgreSQL 15 backends publish their counters when they go idle, at most once a second, and an
 * idle backend with counters still pending publishes them within 10 s (PGSTAT_IDLE_INTERVAL):
 * reading sooner missed up to 10 % of a phase's writes here. So a snapshot waits 11 s.
 */
async function snap(env: BenchEnv): Promise<Snapshot> {
  await sleep(11_000);
  const l = await env.db.query<{ lsn: string }>(`SELECT pg_current_wal_lsn()::text AS lsn`);
  return { lsn: l.rows[0]!.lsn, tables: await counters(env) };
}

export class WriteMeter {
  private constructor(
    private readonly env: BenchEnv,
    private readonly start: Snapshot,
  ) {}

  static async begin(env: BenchEnv): Promise<WriteMeter> {
    return new WriteMeter(env, await snap(env));
  }

  async end(tasks: number): Promise<WriteStats> {
    const e = await snap(this.env);
    const wal = await this.env.db.query<{ b: string }>(`SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) AS b`, [e.lsn, this.start.lsn]);
    const n = Math.max(1, tasks);
    const perTask: WriteStats['perTask'] = {};
    let rows = 0;
    let indexed = 0;
    for (const [t, v] of Object.entries(e.tables)) {
      const s = this.start.tables[t] ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      const d = { ins: v.ins - s.ins, upd: v.upd - s.upd, hot: v.hot - s.hot, del: v.del - s.del };
      if (d.ins + d.upd + d.del === 0) continue;
      perTask[t] = { ins: d.ins / n, upd: d.upd / n, hot: d.hot / n, del: d.del / n };
      rows += d.ins + d.upd + d.del;
      indexed += d.ins + d.upd - d.hot;
    }
    return { perTask, rowWritesPerTask: rows / n, indexedWritesPerTask: indexed / n, walBytesPerTask: Number(wal.rows[0]!.b) / n };
  }
}
