/**
 * The tasks table: PostgreSQL owns task state. Constraints make invalid states unrepresentable:
 * a processing row always has a lease, a terminal row always has finished_at.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE tasks (
      id               uuid PRIMARY KEY,
      type             text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
      status           text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'processing', 'done', 'failed', 'cancelled')),
      payload          jsonb NOT NULL,
      result           jsonb,
      error            jsonb,
      attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      max_attempts     integer NOT NULL CHECK (max_attempts >= 1),
      timeout_ms       integer NOT NULL CHECK (timeout_ms > 0),
      run_after        timestamptz NOT NULL DEFAULT now(),
      lease_token      uuid,
      lease_expires_at timestamptz,
      locked_by        text,
      published_at     timestamptz,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      finished_at      timestamptz,
      CONSTRAINT tasks_lease_iff_processing
        CHECK ((status = 'processing') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
      CONSTRAINT tasks_finished_iff_terminal
        CHECK ((status IN ('done', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
    )
  `);
  // Sweeper: due rows never confirmed published, and published rows waiting suspiciously long.
  await knex.raw(`CREATE INDEX tasks_unpublished_idx ON tasks (run_after) WHERE status = 'pending' AND published_at IS NULL`);
  await knex.raw(`CREATE INDEX tasks_pending_published_idx ON tasks (published_at) WHERE status = 'pending'`);
  // Backlog metrics: oldest due pending task per type.
  await knex.raw(`CREATE INDEX tasks_pending_due_idx ON tasks (type, run_after) WHERE status = 'pending'`);
  // Reaper: expired leases.
  await knex.raw(`CREATE INDEX tasks_lease_expiry_idx ON tasks (lease_expires_at) WHERE status = 'processing'`);
  // Listings by status and type, newest first, with keyset pagination.
  await knex.raw(`CREATE INDEX tasks_status_type_created_idx ON tasks (status, type, created_at DESC, id DESC)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE tasks');
}
