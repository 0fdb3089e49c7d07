/**
 * One prom-client registry per process, in OpenMetrics mode so histograms can carry trace-id
 * exemplars. Scrapers that do not ask for OpenMetrics get the classic text format, converted here
 * (prom-client renames counters per format, so one registry cannot serve both directly).
 */
import client from 'prom-client';
import { sampledTraceId } from '../telemetry/tracing';

export { client };

export interface MetricsRegistry {
  registry: client.Registry<client.OpenMetricsContentType>;
  /** Renders for the given Accept header. */
  render(accept: string | undefined): Promise<{ contentType: string; body: string }>;
}

export function createMetricsRegistry(): MetricsRegistry {
  const registry = new client.Registry<client.OpenMetricsContentType>();
  registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
  client.collectDefaultMetrics({ register: registry, prefix: 'tasker_' });
  return {
    registry,
    async render(accept) {
      const body = await registry.metrics();
      if (accept?.includes('application/openmetrics-text')) {
        return { contentType: client.Registry.OPENMETRICS_CONTENT_TYPE, body };
      }
      return { contentType: client.Registry.PROMETHEUS_CONTENT_TYPE, body: openMetricsToPrometheusText(body) };
    },
  };
}

/**
 * OpenMetrics → Prometheus text 0.0.4: counter families get their `_total` name back, exemplars
 * and `# EOF` are dropped. prom-client emits nothing else that differs between the two.
 */
export function openMetricsToPrometheusText(om: string): string {
  const lines = om.split('\n');
  const counters = new Set<string>();
  for (const l of lines) {
    const m = /^# TYPE (\S+) counter$/.exec(l);
    if (m) counters.add(m[1]!);
  }
  const out: string[] = [];
  for (const l of lines) {
    if (l === '# EOF') continue;
    const meta = /^# (HELP|TYPE) (\S+)(.*)$/.exec(l);
    if (meta) {
      const name = counters.has(meta[2]!) ? `${meta[2]}_total` : meta[2];
      out.push(`# ${meta[1]} ${name}${meta[3]}`);
      continue;
    }
    const ex = l.indexOf(' # {');
    out.push(ex >= 0 ? l.slice(0, ex) : l);
  }
  return out.join('\n');
}

/** Exemplar labels for the active trace, when it is recorded. */
export function traceExemplar(): Record<string, string> | undefined {
  const traceId = sampledTraceId();
  return traceId ? { trace_id: traceId } : undefined;
}

/** Metrics both processes export. */
export function createCommonMetrics(m: MetricsRegistry) {
  return {
    brokerReconnects: new client.Counter({
      name: 'tasker_broker_reconnects_total',
      help: 'Broker connections re-established after a loss.',
      registers: [m.registry],
    }),
  };
}
