/**
 * The start/stop contract every process's service follows (River's and pg-boss's shape): `start()`
 * connects and begins work; `stop()` drains and closes, and is safe twice or before `start()`.
 * `runMain` is the whole of an entry point: config, logger, the service, signals.
 */
import { loadConfig, type Config } from '../config/config';
import { createLogger, type Logger } from '../log/logger';
import { shutdownTelemetry } from '../telemetry/sdk-handle';
import { handleFatalErrors, handleShutdownSignals } from './shutdown';

export interface Service {
  /** Connects and begins work; resolves once the service serves (with its bound ports, if any). */
  start(): Promise<unknown>;
  /** Stops taking work, drains within the configured budget, closes connections. Idempotent. */
  stop(signal?: string): Promise<void>;
}

export function runMain(name: string, create: (config: Config, logger: Logger) => Promise<Service>): void {
  const main = async () => {
    const config = loadConfig();
    const logger = createLogger(name, config.LOG_LEVEL);
    handleFatalErrors(logger);
    const service = await create(config, logger);
    await service.start();
    handleShutdownSignals(logger, async (signal) => {
      await service.stop(signal);
      await shutdownTelemetry();
    });
  };
  main().catch((err: unknown) => {
    // Config errors and startup failures land here, before or instead of the logger.
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
