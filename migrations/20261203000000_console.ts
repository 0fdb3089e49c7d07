/**
 * The web console (issue 18): each attempt's start, and the index the overview counts finished
 * tasks by.
 *
 * - `attempt_started_at`: set by every claim (the same UPDATE, no extra write); a failed attempt
 *   copies it into its `errors` entry, so every attempt has a duration. `started_at` stays the
 *   first start of the task's life.
 * - `tasks_finished_idx` (finished_at, type) over terminal rows only: an entry is written once, when
 *   the task finishes (a partial index gets no entry while the row is pending or processing), and
 *   "what finished in the last hour" reads one hour of it instead of the table.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN attempt_started_at timestamptz`);
  await knex.raw(`CREATE INDEX tasks_finished_idx ON tasks (finished_at, type) WHERE status IN ('done', 'failed', 'cancelled')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX tasks_finished_idx');
  await knex.raw('ALTER TABLE tasks DROP COLUMN attempt_started_at');
}
