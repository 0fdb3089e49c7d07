/**
 * Cron schedules (issue 17). A schedule makes one ordinary task per tick; `next_run_at` is the next
 * tick not yet handled, and the ticker (core/schedules) takes due rows with FOR UPDATE SKIP LOCKED.
 *
 * Exactly one task per (schedule, tick) is the unique index on `tasks`, not the row lock or a
 * leader: whatever two replicas believe, the second insert of a tick does nothing. Ordinary tasks
 * leave both columns NULL: adding a NULL column without a default rewrites nothing, and the partial
 * index holds scheduled rows only, so the submit path pays nothing for it.
 * No foreign key to `schedules`: a deleted schedule's tasks stay as they are (and a foreign key
 * would cost a lookup per scheduled insert and refuse the `TRUNCATE` the tests and benchmark use).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE schedules (
      id               uuid PRIMARY KEY,
      client_id        text NOT NULL,
      name             text CHECK (length(name) <= 200),
      cron             text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
      timezone         text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 100),
      type             text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
      payload          jsonb NOT NULL,
      max_attempts     integer CHECK (max_attempts >= 1),
      timeout_ms       integer CHECK (timeout_ms > 0),
      priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -10 AND 10),
      overlap          text NOT NULL DEFAULT 'allow' CHECK (overlap IN ('allow', 'skip')),
      missed           text NOT NULL DEFAULT 'run_once' CHECK (missed IN ('run_once', 'skip')),
      paused           boolean NOT NULL DEFAULT false,
      next_run_at      timestamptz,
      last_tick_at     timestamptz,
      last_task_id     uuid,
      last_tick_result text CHECK (last_tick_result IN ('created', 'skipped_overlap', 'skipped_missed', 'skipped_unknown_type')),
      skipped_ticks    bigint NOT NULL DEFAULT 0 CHECK (skipped_ticks >= 0),
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    )
  `);
  // The ticker's claim: due, running schedules, oldest tick first.
  await knex.raw(`CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE NOT paused`);
  // GET /schedules: a client's schedules, newest first, keyset pagination.
  await knex.raw(`CREATE INDEX schedules_client_created_idx ON schedules (client_id, created_at DESC, id DESC)`);
  await knex.raw(`ALTER TABLE tasks ADD COLUMN schedule_id uuid, ADD COLUMN schedule_tick timestamptz`);
  await knex.raw(`
    CREATE UNIQUE INDEX tasks_schedule_tick_key ON tasks (schedule_id, schedule_tick) WHERE schedule_id IS NOT NULL`);
  // NOT VALID: every existing row has both NULL (the columns are new), so validating would only
  // scan the whole table under an exclusive lock; new and updated rows are checked.
  await knex.raw(`
    ALTER TABLE tasks ADD CONSTRAINT tasks_schedule_tick_pair CHECK ((schedule_id IS NULL) = (schedule_tick IS NULL)) NOT VALID`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE tasks DROP CONSTRAINT tasks_schedule_tick_pair');
  await knex.raw('DROP INDEX tasks_schedule_tick_key');
  await knex.raw('ALTER TABLE tasks DROP COLUMN schedule_tick, DROP COLUMN schedule_id');
  await knex.raw('DROP TABLE schedules');
}
