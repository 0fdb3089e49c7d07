/**
 * How many times a task was rescheduled by a RetryLaterError without spending an attempt, so a
 * handler cannot snooze a task forever (MAX_SNOOZES).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN snoozes integer NOT NULL DEFAULT 0 CHECK (snoozes >= 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE tasks DROP COLUMN snoozes');
}
