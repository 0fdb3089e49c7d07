/**
 * Who runs next (issue 17): a per-task `priority`, and the indexes the fair claim reads.
 *
 * - `priority` smallint −10…10 (default 0: adding it is a catalogue change, no table rewrite).
 * - `tasks_claim_idx` (type, client_id, priority, run_after) over pending rows: the claim probes it
 *   once per (client with pending work, priority level) with `run_after <= now()` as a range
 *   condition, so delayed rows are never scanned on the way to due ones, whatever their number.
 * - `tasks_processing_type_client_idx` replaces `tasks_processing_type_idx` (type): the same
 *   autoscaling count by type, plus the running count per client the fair share is computed from.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE tasks ADD COLUMN priority smallint NOT NULL DEFAULT 0 CONSTRAINT tasks_priority_range CHECK (priority BETWEEN -10 AND 10)`);
  await knex.raw(`CREATE INDEX tasks_claim_idx ON tasks (type, client_id, priority, run_after) WHERE status = 'pending'`);
  await knex.raw(`CREATE INDEX tasks_processing_type_client_idx ON tasks (type, client_id) WHERE status = 'processing'`);
  await knex.raw(`DROP INDEX tasks_processing_type_idx`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX tasks_processing_type_idx ON tasks (type) WHERE status = 'processing'`);
  await knex.raw('DROP INDEX tasks_processing_type_client_idx');
  await knex.raw('DROP INDEX tasks_claim_idx');
  await knex.raw('ALTER TABLE tasks DROP COLUMN priority');
}
