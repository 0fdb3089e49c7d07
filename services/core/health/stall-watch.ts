/**
 * The liveness backstop for what recovery cannot fix: a worker that has had no working consumer
 * (or an API no working publisher) for `stallMs` while its broker connection is up is stuck — a
 * channel that cannot be reopened — and only a restart helps. `/health` then answers 503, so the
 * orchestrator restarts the process. A lost connection is not a stall: its recovery is running
 * and readiness already says so.
 */
export interface StallWatch {
  /** Why the process should be restarted, or null. */
  stalled(): string | null;
  stop(): void;
}

export interface StallWatchOptions {
  what: string;
  isWorking: () => boolean;
  /** Only while this holds does "not working" count (e.g. connected and not draining). */
  applies: () => boolean;
  /** 0 disables the watch. */
  stallMs: number;
}

export function createStallWatch(o: StallWatchOptions): StallWatch {
  let badSince: number | null = null;
  const sample = () => {
    if (!o.applies() || o.isWorking()) badSince = null;
    else badSince ??= Date.now();
  };
  const timer = o.stallMs > 0 ? setInterval(sample, Math.max(50, Math.min(1_000, o.stallMs / 4))) : null;
  timer?.unref();
  return {
    stalled() {
      if (o.stallMs <= 0) return null;
      sample();
      const ms = badSince === null ? 0 : Date.now() - badSince;
      return ms >= o.stallMs ? `${o.what} not working for ${ms} ms while the broker connection is up` : null;
    },
    stop: () => timer && clearInterval(timer),
  };
}

/** The watch both services use: work counts as stalled only while the broker connection is up and the process is not draining. */
export function watchBrokerWork(
  what: string,
  isWorking: () => boolean,
  broker: { isConnected(): boolean },
  isDraining: () => boolean,
  stallMs: number,
): StallWatch {
  return createStallWatch({ what, isWorking, applies: () => broker.isConnected() && !isDraining(), stallMs });
}
