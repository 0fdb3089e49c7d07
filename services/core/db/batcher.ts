/**
 * Group commit: callers submit items one by one; items that arrive while earlier statements are
 * running are written together by the next statement. Batch size adapts to load by itself — one
 * item per statement when idle, hundreds under load — so latency stays one round trip while
 * throughput is no longer bound by round trips.
 */
import { context, inSpan, ROOT_CONTEXT, trace, type Context } from '../telemetry/tracing';

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Resolves once everything submitted so far has been written (or failed). */
  drain(): Promise<void>;
}

/** Returned in place of a result to fail one item of a batch without failing the others. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export interface BatcherOptions<I, O> {
  /** Writes a batch; returns one result (or ItemFailure) per item, in order, or throws for the whole batch. */
  run(items: I[]): Promise<(O | ItemFailure)[]>;
  maxBatch: number;
  /** Statements in flight at once (each holds a pool connection). */
  maxConcurrent: number;
  /**
   * Span name for batches of several items. A batch of one runs in its caller's trace context (its
   * query is a child span of that request or task); a batch of many belongs to no single trace, so it
   * gets its own span linked to every member's span (the OpenTelemetry pattern for batching).
   */
  spanName: string;
}

export function createBatcher<I, O>(o: BatcherOptions<I, O>): Batcher<I, O> {
  type Pending = { item: I; ctx: Context; resolve: (o: O) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  let inFlight = 0;
  const idle: (() => void)[] = [];

  function pump(): void {
    while (inFlight < o.maxConcurrent && queue.length > 0) {
      const batch = queue.slice(0, o.maxBatch);
      queue = queue.slice(batch.length);
      inFlight++;
      runTraced(batch)
        .then(
          (results) =>
            batch.forEach((p, i) => {
              const r = results[i]!;
              if (r instanceof ItemFailure) p.reject(r.error);
              else p.resolve(r);
            }),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => {
          inFlight--;
          pump();
          if (inFlight === 0 && queue.length === 0) idle.splice(0).forEach((f) => f());
        });
    }
  }

  function runTraced(batch: Pending[]): Promise<(O | ItemFailure)[]> {
    const items = batch.map((p) => p.item);
    if (batch.length === 1) return context.with(batch[0]!.ctx, () => o.run(items));
    const links = batch.flatMap((p) => {
      const sc = trace.getSpanContext(p.ctx);
      return sc && trace.isSpanContextValid(sc) ? [{ context: sc }] : [];
    });
    return inSpan(o.spanName, { parent: ROOT_CONTEXT, links, attributes: { 'tasker.batch.size': batch.length } }, () => o.run(items));
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, ctx: context.active(), resolve, reject });
        pump();
      });
    },
    drain() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
