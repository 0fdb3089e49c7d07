/**
 * Part of insert: the callback URL of a new task, written in the transaction that inserts it. When
 * the task becomes terminal, a trigger (migration 20261201100000_webhooks) writes its delivery row
 * in the same statement as the transition.
 */
import type { Db } from '../../db/database';

export interface TaskCallback {
  taskId: string;
  url: string;
}

export async function attachCallbacks(trx: Db, callbacks: readonly TaskCallback[]): Promise<void> {
  if (callbacks.length === 0) return;
  await trx.raw(`INSERT INTO task_callbacks (task_id, url) SELECT * FROM unnest(?::uuid[], ?::text[])`, [
    callbacks.map((c) => c.taskId),
    callbacks.map((c) => c.url),
  ]);
}
