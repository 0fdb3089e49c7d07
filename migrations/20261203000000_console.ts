/**
 * The web console (issue 18): each attempt's start, and the index the overview counts finished
 * tasks by.
 *
 * - `attempt_started_at`: set by every claim (the same UPDATE, no extra write); a failed attempt
 *   copies it into its `errors` entry, so every attempt has a duration. `started_at` stays the
 *   first start of the task's life. Adding a nullable column is a catalogue change.
 * - `tasks_finished_idx` (finished_at, type) over terminal rows only: an entry is written once, when
 *   the task finishes (a partial index gets no entry while the row is pending or processing), and
 *   "what finished in the last hour" reads one hour of it instead of the table. Built
 *   CONCURRENTLY, outside a transaction, so a `helm upgrade` over millions of rows does not hold
 *   writes while it builds; a build that failed half-way left an invalid index, dropped first.
 */
import type { Knex } from 'knex';

export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN IF NOT EXISTS attempt_started_at timestamptz`);
  const invalid = await knex.raw<{ rows: unknown[] }>(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'tasks_finished_idx' AND NOT i.indisvalid`,
  );
  if (invalid.rows.length > 0) await knex.raw('DROP INDEX CONCURRENTLY tasks_finished_idx');
  await knex.raw(`CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_finished_idx ON tasks (finished_at, type) WHERE status IN ('done', 'failed', 'cancelled')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS tasks_finished_idx');
  await knex.raw('ALTER TABLE tasks DROP COLUMN IF EXISTS attempt_started_at');
}
