/**
 * waitForSchema on the real PostgreSQL: it holds while the schema is missing or older than the
 * code needs, resolves once migrations are applied, and stops when aborted (SIGTERM while held).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN_DATABASE_URL, adminQuery } from '../support/infra';
import { loadConfig } from '../../services/core/config/config';
import { createDatabase, requiredSchemaVersion, type Db } from '../../services/core/db/database';
import { createLogger } from '../../services/core/log/logger';
import { waitForSchema } from '../../services/core/db/wait-for-schema';

const dbName = `tasker_test_schema_${randomBytes(4).toString('hex')}`;

describe('waitForSchema', () => {
  let db: Db;
  before(async () => {
    await adminQuery(`CREATE DATABASE ${dbName}`);
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${dbName}`;
    const config = loadConfig({ DATABASE_URL: url.toString(), NODE_ENV: 'test' });
    db = createDatabase(config, createLogger('tasker-test', 'silent'), 'tasker-test');
  });
  after(async () => {
    await db.destroy();
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  });

  it('aborts while held (a SIGTERM before the schema arrives)', async () => {
    const ac = new AbortController();
    const waiting = waitForSchema(db, requiredSchemaVersion(), { initialDelayMs: 50, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('SIGTERM')), 300);
    await assert.rejects(waiting, /SIGTERM/);
  });

  it('holds until the migrations are applied, then resolves with the version', async () => {
    const required = requiredSchemaVersion();
    const seen: string[] = [];
    let resolved = false;
    const waiting = waitForSchema(db, required, {
      initialDelayMs: 50,
      maxDelayMs: 200,
      onWait: ({ state }) => seen.push(String(state?.version ?? 'none')),
    }).then((v) => {
      resolved = true;
      return v;
    });
    // At least two failed checks (the first connection may be slow on a loaded machine).
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(resolved, false, 'resolved before any migration ran');
    assert.ok(seen.length >= 2 && seen.every((v) => v === 'none'), `checks while held: ${seen.join(',')}`);
    await db.migrate.latest();
    assert.equal(await waiting, required);
  });
});
