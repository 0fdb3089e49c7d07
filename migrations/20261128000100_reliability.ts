/**
 * Reliability: every attempt's error kept on the row (bounded history), and Idempotency-Key
 * records for POST /tasks (IETF httpapi idempotency-key draft; Stripe-style replay).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN errors jsonb NOT NULL DEFAULT '[]'::jsonb`);
  // Dead-letter listings: failed tasks by type and reason, newest first.
  await knex.raw(
    `CREATE INDEX tasks_failed_idx ON tasks (type, finished_at DESC, id DESC) WHERE status = 'failed'`,
  );
  await knex.raw(`
    CREATE TABLE idempotency_keys (
      scope        text NOT NULL DEFAULT '',
      key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
      request_hash text NOT NULL,
      task_id      uuid NOT NULL,
      response     jsonb NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,
      PRIMARY KEY (scope, key)
    )
  `);
  await knex.raw(`CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE idempotency_keys');
  await knex.raw('DROP INDEX tasks_failed_idx');
  await knex.raw('ALTER TABLE tasks DROP COLUMN errors');
}
