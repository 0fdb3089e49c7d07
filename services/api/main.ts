/** Entry point of the API process: config, logger, the wired service, signals. */
import { loadConfig } from '../core/config/config';
import { handleFatalErrors, handleShutdownSignals } from '../core/lifecycle/shutdown';
import { createLogger } from '../core/log/logger';
import { shutdownTelemetry } from '../core/telemetry/sdk-handle';
import { createApiService } from './api-service';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('tasker-api', config.LOG_LEVEL);
  handleFatalErrors(logger);
  const api = await createApiService(config, logger);
  await api.start();
  handleShutdownSignals(logger, async (signal) => {
    await api.stop(signal);
    await shutdownTelemetry();
  });
}

main().catch((err: unknown) => {
  // Config errors and startup failures land here, before or instead of the logger.
  process.stderr.write(`tasker-api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
