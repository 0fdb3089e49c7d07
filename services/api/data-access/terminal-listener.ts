/**
 * The API process's one LISTEN connection on the terminal channel: every notification wakes the
 * requests waiting for those tasks, and each (re)connect re-reads the ids waited for, since
 * notifications sent while it was down are gone.
 */
import { createPgListener, listenClient, type PgListener } from '../../core/db/pg-listener';
import type { Logger } from '../../core/log/logger';
import { parseTerminalPayload, TERMINAL_CHANNEL } from '../../core/tasks/state/terminal-notify';
import type { WaiterHub } from '../domain/waiter-hub';

/** `onTerminal`: also called for every notification (the webhook deliverer looks for due deliveries). */
export function createTerminalListener(databaseUrl: string, waiters: WaiterHub, logger: Logger, onTerminal?: () => void): PgListener {
  return createPgListener({
    connect: () => listenClient(databaseUrl, 'tasker-api-listen'),
    channel: TERMINAL_CHANNEL,
    name: 'terminal-listener',
    onNotification: (payload) => {
      waiters.wake(parseTerminalPayload(payload));
      onTerminal?.();
    },
    onListening: () => void waiters.recheck().catch((err: unknown) => logger.warn({ err }, 'could not re-read waited tasks after LISTEN')),
    logger,
  });
}
