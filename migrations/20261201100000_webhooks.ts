/**
 * Completion webhooks. `task_callbacks` holds a task's callback URL (written with the task);
 * `webhook_deliveries` is the outbox of deliveries. A delivery row is written by a trigger in
 * the very statement that makes a task with a callback terminal, whichever transition it is
 * (complete, fail, cancel, reap): it commits with the outcome or not at all, and no transition's
 * SQL had to change. Tasks without a callback pay one primary-key probe per terminal update.
 * No foreign keys to `tasks`: rows are only ever written for an existing task (in its insert or
 * terminal transaction), tasks are never deleted by the service, and a foreign key would cost a
 * lookup per insert and refuse the `TRUNCATE tasks` of the tests and the benchmark.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE task_callbacks (
      task_id uuid PRIMARY KEY,
      url     text NOT NULL CHECK (length(url) <= 2048)
    )`);
  await knex.raw(`
    CREATE TABLE webhook_deliveries (
      id              uuid PRIMARY KEY,
      task_id         uuid NOT NULL,
      url             text NOT NULL,
      task_status     text NOT NULL,
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_status     integer,
      last_error      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      delivered_at    timestamptz
    )`);
  await knex.raw(`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'`);
  await knex.raw(`CREATE INDEX webhook_deliveries_task_idx ON webhook_deliveries (task_id)`);
  await knex.raw(`CREATE INDEX webhook_deliveries_failed_idx ON webhook_deliveries (updated_at DESC) WHERE status = 'failed'`);
  await knex.raw(`
    CREATE FUNCTION tasker_enqueue_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO webhook_deliveries (id, task_id, url, task_status)
      SELECT gen_random_uuid(), c.task_id, c.url, NEW.status FROM task_callbacks c WHERE c.task_id = NEW.id;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER tasks_enqueue_webhook AFTER UPDATE OF status ON tasks FOR EACH ROW
      WHEN (NEW.status IN ('done', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
      EXECUTE FUNCTION tasker_enqueue_webhook()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER tasks_enqueue_webhook ON tasks');
  await knex.raw('DROP FUNCTION tasker_enqueue_webhook()');
  await knex.raw('DROP TABLE webhook_deliveries');
  await knex.raw('DROP TABLE task_callbacks');
}
