/**
 * One-line metric declarations bound to a process's registry, so each metrics file lists names,
 * help and labels (what an operator reads) instead of repeating prom-client's option objects.
 */
import { client, type MetricsRegistry } from './registry';

export function metricBuilders(m: MetricsRegistry) {
  const registers = [m.registry];
  return {
    counter: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new client.Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
      new client.Gauge<L>({ name, help, labelNames, registers }),
    /** With `exemplars`, observations carry a trace id, so a slow bucket links to a trace (observe with an object then). */
    histogram: <L extends string = never>(name: string, help: string, labelNames: readonly L[], buckets: number[], exemplars = false) =>
      new client.Histogram<L>({ name, help, labelNames, buckets, enableExemplars: exemplars, registers }),
  };
}
