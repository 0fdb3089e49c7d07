/**
 * Runs a background job on an interval, never overlapping itself. Failures are logged and the
 * job runs again on the next tick: a blinking dependency must not stop recovery loops.
 */
import type { Logger } from '../log/logger';

export interface Periodic {
  start(): void;
  /** Stops scheduling and waits for a run in progress. Safe to call twice or before start. */
  stop(): Promise<void>;
  /** Runs now (unless already running); used by tests and to react to events. */
  runNow(): Promise<void>;
}

export function createPeriodic(name: string, intervalMs: number, fn: () => Promise<void>, logger: Logger): Periodic {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let failures = 0;

  const run = (): Promise<void> => {
    running ??= fn()
      .then(() => {
        if (failures > 0) logger.info({ job: name, after_failures: failures }, 'background job recovered');
        failures = 0;
      })
      .catch((err: unknown) => {
        failures += 1;
        // Log the first failure and then every 10th, so an outage does not flood the logs.
        if (failures === 1 || failures % 10 === 0) {
          logger.warn({ job: name, err, failures }, 'background job failed; retrying next interval');
        }
      })
      .finally(() => {
        running = null;
        if (!stopped) schedule();
      });
    return running;
  };
  const schedule = () => {
    timer = setTimeout(() => void run(), intervalMs);
    timer.unref();
  };

  return {
    start() {
      if (timer || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
    runNow: () => (stopped ? Promise.resolve() : run()),
  };
}
