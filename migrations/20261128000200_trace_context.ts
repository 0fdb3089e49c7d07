/**
 * The W3C trace context a task was created under. Every attempt's spans join that trace, however
 * late (retries hours later, sweeper republishes), because the row — not the message — carries it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN trace_context jsonb`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks DROP COLUMN trace_context`);
}
