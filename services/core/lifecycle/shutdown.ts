/**
 * Signal handling shared by every entry point: the first SIGTERM/SIGINT starts a graceful drain,
 * a second one forces exit. A second signal inside 500 ms is ignored, because `npm start` under a
 * terminal delivers Ctrl-C twice (once from the TTY, once forwarded by npm).
 */
import type { Logger } from '../log/logger';

export function handleShutdownSignals(logger: Logger, drain: (signal: string) => Promise<void>): void {
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === 0) {
      firstAt = now;
      drain(signal).then(
        () => {
          logger.info({ signal }, 'drained; exiting 0');
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'drain failed; exiting 1');
          logger.flush();
          process.exit(1);
        },
      );
    } else if (now - firstAt > 500) {
      logger.warn({ signal }, 'second signal; forcing exit without finishing the drain');
      logger.flush();
      process.exit(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Wraps a stop function so calling it twice (or before start) is safe. */
export function once<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  let p: Promise<T> | null = null;
  return (...args) => (p ??= fn(...args));
}

/** Last-resort handlers: log what escaped and exit non-zero rather than run in an unknown state. */
export function handleFatalErrors(logger: Logger): void {
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting 1');
    logger.flush();
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection; exiting 1');
    logger.flush();
    process.exit(1);
  });
}
