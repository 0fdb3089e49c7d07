/**
 * Listens on PostgreSQL's cancel channel (the API notifies it in the cancelling
 * transaction) so a running handler is aborted within milliseconds on whichever worker runs it.
 * The heartbeat noticing the lost lease is the fallback when a notification is missed.
 */
import { createPgListener, listenClient as pgListenClient, type ListenClient, type PgListener } from '../../core/db/pg-listener';
import type { Logger } from '../../core/log/logger';
import { CANCEL_CHANNEL } from '../../core/tasks/state/sql-fragments';

export type { ListenClient };
export type CancelListener = PgListener;

export interface CancelListenerOptions {
  connect: () => ListenClient;
  onCancel: (taskId: string) => void;
  logger: Logger;
  pingMs?: number;
  pingTimeoutMs?: number;
  retryBaseMs?: number;
}

export const listenClient = (databaseUrl: string): ListenClient => pgListenClient(databaseUrl, 'tasker-worker-listen');

export function createCancelListener({ onCancel, ...o }: CancelListenerOptions): CancelListener {
  return createPgListener({ ...o, channel: CANCEL_CHANNEL, onNotification: onCancel, name: 'cancel-listener' });
}
