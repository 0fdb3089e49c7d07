// The machine's PostgreSQL and RabbitMQ for the checks that run the app: a fresh database name and
// AMQP prefix per run (so concurrent runs never meet), and their removal afterwards.
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './render.mjs';

const require = createRequire(path.join(ROOT, 'package.json'));
export const PG_ADMIN = process.env.TASKER_CHECK_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AMQP = process.env.TASKER_CHECK_AMQP ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A fresh database URL (created by migrate) and AMQP prefix; `label` makes leftovers recognisable. */
export function freshNames(label) {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const database = `tasker_${label}_${suffix}`;
  const prefix = `tasker-${label}-${suffix}`.replace(/_/g, '-');
  const db = new URL(PG_ADMIN);
  db.pathname = `/${database}`;
  const mgmt = new URL(AMQP.replace(/^amqp/, 'http'));
  mgmt.port = '15672';
  return { database, prefix, databaseUrl: db.toString(), amqpUrl: AMQP, managementUrl: mgmt.toString() };
}

/**
 * A free TCP port below the kernel's ephemeral range (32768–60999 here), so runs never clash with a
 * developer's 8000/8001 or each other. Not `listen(0)`: that hands out an ephemeral port, which an
 * outgoing connection (a container's to PostgreSQL or RabbitMQ) can take before the service binds
 * it — seen in CI: the image-run worker failed with EADDRINUSE on 0.0.0.0:33211, a port picked here.
 * Checked on 0.0.0.0, where the containers bind.
 */
const handedOut = new Set();
export async function freePort() {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue; // not yet bound by its taker: it would still look free
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (ok) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port found in 20000–31999');
}

export async function dropNames({ database, prefix }, queueGroups = ['simulate']) {
  const { Client } = require('pg');
  const pg = new Client({ connectionString: PG_ADMIN });
  try {
    await pg.connect();
    await pg.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } catch (e) {
    console.error(`  (cleanup: could not drop ${database}: ${e.message})`);
  } finally {
    await pg.end().catch(() => undefined);
  }
  const amqp = require('amqplib');
  try {
    const conn = await amqp.connect(AMQP);
    const ch = await conn.createChannel();
    for (const q of [...queueGroups.map((g) => `${prefix}.q.${g}`), `${prefix}.dead-letter`]) await ch.deleteQueue(q);
    for (const x of [`${prefix}.tasks`, `${prefix}.dlx`]) await ch.deleteExchange(x);
    await conn.close();
  } catch (e) {
    console.error(`  (cleanup: could not delete ${prefix}.* topology: ${e.message})`);
  }
}
