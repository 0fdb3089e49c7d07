/**
 * `npm run keys -- <command>`: manage API keys.
 *   create --client <name> [--admin]   prints the new key once; only its hash is stored
 *   list                                id, client, prefix, admin, created, revoked
 *   revoke <id|prefix>
 *   generate                            prints a new key without storing it (for the chart's `apiKeySeed` Secret)
 *   seed                                stores API_KEY_SEED's hash if absent (what the migration Job does)
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generateApiKey } from '../core/auth/api-key';
import { createApiKeyRepository } from '../core/auth/api-key.repository';
import { loadConfig } from '../core/config/config';
import { createDatabase } from '../core/db/database';
import { createLogger } from '../core/log/logger';
import { seedApiKey } from './seed-api-key';

const USAGE = 'usage: npm run keys -- create --client <name> [--admin] | list | revoke <id|prefix> | generate | seed';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { client: { type: 'string' }, admin: { type: 'boolean', default: false } },
  });
  const [command, arg] = positionals;
  const config = loadConfig();
  const db = createDatabase(config, createLogger('tasker-keys', 'warn'), 'tasker-keys');
  const keys = createApiKeyRepository(db);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    switch (command) {
      case 'create': {
        const client = values.client;
        if (!client || !/^[A-Za-z0-9._@:-]{1,100}$/.test(client)) {
          process.stderr.write(`--client is required (1–100 of A-Z a-z 0-9 . _ @ : -)\n${USAGE}\n`);
          return 2;
        }
        const key = generateApiKey();
        const id = randomUUID();
        await keys.insert({ id, clientId: client, prefix: key.prefix, hash: key.hash, admin: values.admin });
        out(key.plain);
        process.stderr.write(`created key ${id} for client "${client}"${values.admin ? ' (admin)' : ''}; it is shown only once\n`);
        return 0;
      }
      case 'list':
        for (const k of await keys.list()) {
          out([k.id, k.clientId, `tsk_${k.prefix}_…`, k.admin ? 'admin' : '-', k.createdAt.toISOString(), k.revokedAt?.toISOString() ?? 'active'].join('\t'));
        }
        return 0;
      case 'revoke': {
        if (!arg) {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
        const n = await keys.revoke(arg);
        process.stderr.write(n ? `revoked ${n} key(s)\n` : `no active key matches ${arg}\n`);
        return n ? 0 : 1;
      }
      case 'generate':
        out(generateApiKey().plain);
        return 0;
      case 'seed': {
        if (!config.API_KEY_SEED) {
          process.stderr.write('API_KEY_SEED is not set\n');
          return 2;
        }
        const outcome = await seedApiKey(keys, { plain: config.API_KEY_SEED, clientId: config.API_KEY_SEED_CLIENT, admin: config.API_KEY_SEED_ADMIN });
        process.stderr.write(`seed key for client "${config.API_KEY_SEED_CLIENT}": ${outcome}\n`);
        return outcome === 'revoked' ? 1 : 0;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tasker-keys failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
