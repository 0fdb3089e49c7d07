/**
 * Running tasks by type, for the autoscaling signal (core/tasks/scaling-work.ts): KEDA's
 * postgresql trigger counts them every polling interval per worker group. The partial index stays
 * as small as the number of running tasks; due pending rows already have tasks_pending_due_idx.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX tasks_processing_type_idx ON tasks (type) WHERE status = 'processing'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX tasks_processing_type_idx');
}
