/**
 * Security: task ownership by client, API keys (stored as SHA-256 hashes of high-entropy secrets),
 * and per-client rate-limit state shared by every API replica.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN client_id text NOT NULL DEFAULT ''`);
  await knex.raw(`CREATE INDEX tasks_client_created_idx ON tasks (client_id, created_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX tasks_client_pending_idx ON tasks (client_id) WHERE status = 'pending'`);
  await knex.raw(`
    CREATE TABLE api_keys (
      id          uuid PRIMARY KEY,
      client_id   text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 100),
      prefix      text NOT NULL UNIQUE,
      key_hash    bytea NOT NULL,
      admin       boolean NOT NULL DEFAULT false,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz
    )
  `);
  // GCRA state per client (theoretical arrival time). Losing it in a crash only forgives a few
  // requests, so the table skips the WAL.
  await knex.raw(`
    CREATE UNLOGGED TABLE rate_limit_buckets (
      client_id text PRIMARY KEY,
      tat       timestamptz NOT NULL,
      allowed   boolean NOT NULL
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE rate_limit_buckets');
  await knex.raw('DROP TABLE api_keys');
  await knex.raw('DROP INDEX tasks_client_pending_idx');
  await knex.raw('DROP INDEX tasks_client_created_idx');
  await knex.raw('ALTER TABLE tasks DROP COLUMN client_id');
}
