/** Where the bootstrap leaves the SDK, so the composition roots can flush it on shutdown. */
export const SDK_KEY = Symbol.for('tasker.otel.sdk');

/** True when the bootstrap started the SDK (an exporter is configured): tracing is on. */
export function tracingEnabled(): boolean {
  return (globalThis as Record<symbol, unknown>)[SDK_KEY] !== undefined;
}

/** Flushes and stops tracing (pending spans are exported); a no-op when the SDK is not running. */
export async function shutdownTelemetry(): Promise<void> {
  const sdk = (globalThis as Record<symbol, { shutdown(): Promise<void> } | undefined>)[SDK_KEY];
  if (sdk) await sdk.shutdown().catch(() => undefined);
}
