/**
 * A PostgreSQL primary and a synchronous streaming standby in containers, and the operations a
 * failover controller performs: promote the standby, then bring the old primary back as the new
 * primary's standby with pg_rewind. The old primary is only ever started again after the rewind
 * has made it a standby, so there are never two primaries.
 *
 * Synchronous replication: the primary has `synchronous_standby_names = '*'` (a commit returns only
 * once the standby has the WAL), so everything the API answered 202 for is on the standby when it is
 * promoted. The standby itself starts with an empty list, so after promotion it commits alone until
 * its own standby is back; this is CloudNativePG's `dataDurability: preferred` (with `required` and
 * a third instance the promoted server would have the remaining standby to wait for).
 */
import { Client } from 'pg';
import { waitFor } from '../../support/infra';
import { NETWORK, PREFIX, podman } from './podman';

export const POSTGRES_IMAGE = 'docker.io/library/postgres:17';
const PASSWORD = 'tasker-ha-pw';
// Cannot fail over without these: a standby needs WAL senders, and pg_rewind needs hint bits in WAL.
const SERVER_ARGS = ['-c', 'wal_level=replica', '-c', 'max_wal_senders=10', '-c', 'hot_standby=on', '-c', 'wal_log_hints=on', '-c', 'wal_keep_size=512MB'];

export interface PgServer {
  name: string;
  /** Port published on 127.0.0.1. */
  port: number;
}

export interface PostgresPair {
  servers: [PgServer, PgServer];
  /** postgres:// URL of a database, through `host:port` (the entry point, or a server directly). */
  url(port: number, database?: string): string;
  /** true = writable primary, false = standby, null = not answering. */
  isPrimary(s: PgServer): Promise<boolean | null>;
  /** `application_name:sync_state` of the standbys streaming from `s`. */
  standbys(s: PgServer): Promise<string[]>;
  promote(s: PgServer): Promise<void>;
  /**
   * pg_rewind `old` from `primary` (a fresh base backup if the rewind fails), start it as its
   * standby, make it synchronous again. Resolves with the method that worked.
   */
  rejoinAsStandby(old: PgServer, primary: PgServer): Promise<'pg_rewind' | 'pg_basebackup'>;
}

async function query<T>(port: number, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1_500 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

const asPostgres = (cmd: string) => `setpriv --reuid=postgres --regid=postgres --init-groups ${cmd}`;

export async function startPostgresPair(basePort: number): Promise<PostgresPair> {
  const s1: PgServer = { name: `${PREFIX}pg1`, port: basePort + 1 };
  const s2: PgServer = { name: `${PREFIX}pg2`, port: basePort + 2 };
  await podman([
    'run', '-d', '--name', s1.name, '--hostname', s1.name, '--network', NETWORK, '-p', `127.0.0.1:${s1.port}:5432`,
    '-e', 'POSTGRES_USER=postgres', '-e', `POSTGRES_PASSWORD=${PASSWORD}`, POSTGRES_IMAGE, 'postgres', ...SERVER_ARGS,
  ]);
  await waitFor('primary accepting connections', async () => (await query(s1.port, 'SELECT 1')).length === 1, 60_000, 500);
  await podman(['exec', s1.name, 'sh', '-c', 'echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"']);
  await query(s1.port, `ALTER SYSTEM SET synchronous_standby_names = '*'`);
  // Also in the configuration file: pg_rewind's crash recovery of a killed primary starts the server
  // without our command-line settings; without wal_log_hints it refuses the data directory, and
  // without wal_keep_size that recovery's checkpoint recycles the WAL it needs to find the fork.
  await query(s1.port, `ALTER SYSTEM SET wal_log_hints = on`);
  await query(s1.port, `ALTER SYSTEM SET wal_keep_size = '512MB'`);
  await query(s1.port, 'SELECT pg_reload_conf()');
  // The standby: a base backup of the primary (-R: standby.signal + primary_conninfo), with its own
  // synchronous list emptied (see the file comment).
  const standbyScript = [
    'set -e',
    'mkdir -p "$PGDATA" /run/postgresql && chown postgres:postgres "$PGDATA" /run/postgresql && chmod 700 "$PGDATA"',
    `[ -s "$PGDATA/PG_VERSION" ] || { ${asPostgres(`pg_basebackup -d "host=${s1.name} user=postgres password=${PASSWORD} application_name=${s2.name}" -D "$PGDATA" -R -X stream`)}; ` +
      `echo "synchronous_standby_names = ''" >> "$PGDATA/postgresql.auto.conf"; }`,
    `exec ${asPostgres(`postgres -D "$PGDATA" ${SERVER_ARGS.join(' ')}`)}`,
  ].join('\n');
  await podman([
    'run', '-d', '--name', s2.name, '--hostname', s2.name, '--network', NETWORK, '-p', `127.0.0.1:${s2.port}:5432`,
    '--entrypoint', 'sh', POSTGRES_IMAGE, '-c', standbyScript,
  ]);
  const pair: PostgresPair = {
    servers: [s1, s2],
    url: (port, database = 'postgres') => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`,
    async isPrimary(s) {
      try {
        const r = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
        return !r[0]!.r;
      } catch {
        return null;
      }
    },
    async standbys(s) {
      const r = await query<{ a: string }>(s.port, `SELECT application_name || ':' || sync_state AS a FROM pg_stat_replication WHERE state = 'streaming'`).catch(() => []);
      return r.map((x) => x.a);
    },
    async promote(s) {
      const r = await query<{ ok: boolean }>(s.port, 'SELECT pg_promote(true, 30) AS ok');
      if (!r[0]?.ok) throw new Error(`${s.name} was not promoted`);
    },
    async rejoinAsStandby(old, primary) {
      await podman(['stop', '-t', '5', old.name]).catch(() => undefined);
      const conn = `host=${primary.name} user=postgres password=${PASSWORD} application_name=${old.name}`;
      const onOldData = (script: string) =>
        podman(['run', '--rm', '--name', `${old.name}-rejoin`, '--network', NETWORK, '--volumes-from', old.name, '--entrypoint', 'sh', POSTGRES_IMAGE, '-c', script], 300_000);
      // pg_rewind first runs crash recovery on the killed server's data (single-user mode), then
      // copies what diverged since the promotion; -R makes it a standby of `primary`.
      // The promoted server's control file names its new timeline only after a checkpoint; before
      // that pg_rewind sees both on the old timeline, says "no rewind required", and the old
      // primary then cannot follow (it holds WAL past the fork: commits the standby never confirmed).
      await query(primary.port, 'CHECKPOINT');
      let method: 'pg_rewind' | 'pg_basebackup' = 'pg_rewind';
      await onOldData(asPostgres(`pg_rewind --target-pgdata="$PGDATA" -R --source-server="${conn} dbname=postgres"`)).catch(async () => {
        method = 'pg_basebackup';
        await onOldData(`rm -rf "$PGDATA"/* && ${asPostgres(`pg_basebackup -d "${conn}" -D "$PGDATA" -R -X stream`)}`);
      });
      await podman(['start', old.name]);
      await waitFor(`${old.name} streaming from ${primary.name}`, async () => (await pair.standbys(primary)).length === 1, 60_000, 500).catch(async (e: unknown) => {
        const logs = await podman(['exec', old.name, 'sh', '-c', 'ls -t "$PGDATA"/log/* 2>/dev/null | head -1 | xargs tail -n 15']).catch(() => '');
        throw new Error(`${old.name} (after ${method}) is not streaming; its last log lines:\n${logs}`, { cause: e });
      });
      await query(primary.port, `ALTER SYSTEM SET synchronous_standby_names = '*'`);
      await query(primary.port, 'SELECT pg_reload_conf()');
      await waitFor(`${old.name} synchronous`, async () => (await pair.standbys(primary))[0]?.endsWith(':sync') === true, 30_000, 500);
      return method;
    },
  };
  await waitFor('standby streaming synchronously', async () => (await pair.standbys(s1))[0]?.endsWith(':sync') === true, 120_000, 500);
  return pair;
}
