/**
 * The migrate entry point as a real process against the real PostgreSQL: it waits (bounded) for a
 * database that is not accepting connections yet — the migration Job racing a CloudNativePG
 * bootstrap — and it seeds API_KEY_SEED's hash idempotently (the unattended first key).
 * Self-contained on purpose (no test/support): it only needs the built dist/ and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_DATABASE_URL, adminQuery } from '../support/infra';
import { generateApiKey, hashApiKey } from '../../services/core/auth/api-key';

const MIGRATE = path.resolve(__dirname, '../../services/migrate/main.js');
const dbName = `tasker_test_migrate_${randomBytes(4).toString('hex')}`;

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

function runMigrate(env: Record<string, string>, timeoutMs = 60_000, onOutput: (out: string) => void = () => undefined): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [MIGRATE], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    onOutput(out);
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    }),
  );
}

function urlFor(port: number, database = dbName): string {
  const u = new URL(ADMIN_DATABASE_URL);
  u.port = String(port);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A port nothing listens on yet (bound, read and released). */
function reservePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A TCP proxy on `port` to the real PostgreSQL: "the database starts accepting connections now". */
function startProxy(port: number): Promise<net.Server> {
  const target = new URL(ADMIN_DATABASE_URL);
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('migrate entry point', () => {
  const pgPort = Number(new URL(ADMIN_DATABASE_URL).port || 5432);
  let proxy: net.Server | undefined;

  before(async () => {
    await adminQuery('SELECT 1').catch((e: unknown) => {
      throw new Error(`PostgreSQL is not reachable at ${ADMIN_DATABASE_URL}; run bash .ci/ensure-services`, { cause: e });
    });
  });
  after(async () => {
    proxy?.close();
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  });

  it('waits for a database that starts accepting connections later, then migrates', async () => {
    const port = await reservePort();
    let retrying!: () => void;
    const sawRetry = new Promise<void>((resolve) => (retrying = resolve));
    const run = runMigrate({ DATABASE_URL: urlFor(port), MIGRATE_DATABASE_WAIT_MS: '30000' }, 60_000, (out) => {
      if (/database not accepting connections yet; retrying in/.test(out)) retrying();
    });
    // Nothing listens until migrate has said it waits (a positive signal, not a fixed sleep, so a
    // slow start on a loaded machine cannot make it connect only after the proxy is up).
    const first = await Promise.race([sawRetry.then(() => 'waiting' as const), run.then(() => 'exited' as const)]);
    assert.equal(first, 'waiting', 'migrate retried instead of failing while nothing listened');
    await new Promise((r) => setTimeout(r, 1_000));
    proxy = await startProxy(port);
    const r = await run;
    assert.equal(r.code, 0, r.out);
    assert.ok(r.out.indexOf('retrying in') < r.out.indexOf('migrations applied'), 'it waited, then migrated');
    const applied = await adminQuery<{ n: string }>('SELECT count(*) AS n FROM knex_migrations', [], dbName);
    assert.ok(Number(applied[0]?.n) > 0, 'migrations recorded');
  });

  it('gives up after MIGRATE_DATABASE_WAIT_MS with a non-zero exit', async () => {
    const port = await reservePort();
    const r = await runMigrate({ DATABASE_URL: urlFor(port), MIGRATE_DATABASE_WAIT_MS: '1500' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /ECONNREFUSED/);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms: the wait is not bounded`);
  });

  it('does not wait out errors that waiting cannot fix (unknown role)', async () => {
    const u = new URL(urlFor(pgPort));
    u.username = 'no_such_role_tasker';
    const r = await runMigrate({ DATABASE_URL: u.toString(), MIGRATE_DATABASE_WAIT_MS: '30000' });
    assert.equal(r.code, 1, r.out);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('seeds API_KEY_SEED once: hash only, idempotent, a revocation stays', async () => {
    const key = generateApiKey();
    const env = { DATABASE_URL: urlFor(pgPort), API_KEY_SEED: key.plain, API_KEY_SEED_CLIENT: 'helm-test', API_KEY_SEED_ADMIN: 'false' };
    for (const expected of [/seed API key stored/, /seed API key already stored/]) {
      const r = await runMigrate(env);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, expected);
      assert.ok(!r.out.includes(key.plain), 'the key itself is never logged');
    }
    const rows = await adminQuery<{ client_id: string; key_hash: Buffer; admin: boolean }>(
      'SELECT client_id, key_hash, admin FROM api_keys WHERE prefix = $1',
      [key.prefix],
      dbName,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.client_id, 'helm-test');
    assert.equal(rows[0]?.admin, false);
    assert.deepEqual(rows[0]?.key_hash, hashApiKey(key.plain));

    await adminQuery('UPDATE api_keys SET revoked_at = now() WHERE prefix = $1', [key.prefix], dbName);
    const again = await runMigrate(env);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /was revoked; left revoked/);
    const revoked = await adminQuery<{ revoked_at: Date | null }>('SELECT revoked_at FROM api_keys WHERE prefix = $1', [key.prefix], dbName);
    assert.ok(revoked[0]?.revoked_at, 'still revoked');

    // Same prefix, other secret: refused rather than silently kept.
    const forged = `tsk_${key.prefix}_${randomBytes(32).toString('base64url')}`;
    const clash = await runMigrate({ ...env, API_KEY_SEED: forged });
    assert.equal(clash.code, 1, clash.out);
    assert.match(clash.out, /another key with prefix/);
  });

  it('keys generate prints a key the seed accepts; keys seed stores it like the Job does', async () => {
    const keys = path.resolve(__dirname, '../../services/keys/main.js');
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [keys, ...args], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env } });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => resolve({ code, out, err }));
      });
    const gen = await run(['generate'], {});
    assert.equal(gen.code, 0, gen.err);
    const plain = gen.out.trim();
    assert.match(plain, /^tsk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const env = { DATABASE_URL: urlFor(pgPort), API_KEY_SEED: plain, API_KEY_SEED_CLIENT: 'ops', API_KEY_SEED_ADMIN: 'true' };
    const first = await run(['seed'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /seed key for client "ops": created/);
    assert.match((await run(['seed'], env)).err, /: present/);
    const rows = await adminQuery<{ admin: boolean }>('SELECT admin FROM api_keys WHERE prefix = $1', [plain.slice(4, 16)], dbName);
    assert.deepEqual(rows, [{ admin: true }]);
  });

  it('rejects a malformed seed key at start, naming the variable', async () => {
    const r = await runMigrate({ DATABASE_URL: urlFor(pgPort), API_KEY_SEED: 'not-a-key' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /API_KEY_SEED: must be a key of the form/);
  });
});
