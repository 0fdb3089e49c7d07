// Renders the chart with the given values files and prints, as JSON, what an autoscaler and the
// kubelet read for each worker group: its ScaledObject (KEDA mode) or HorizontalPodAutoscaler (HPA
// mode), the scrape interval of the HPA's metric, and its Deployment's drain budget and grace
// period. Used by the autoscaling simulation (npm run test:autoscale), so it drives workers with
// exactly what the chart renders.
import { named, ofKind, render } from './lib/render.mjs';

const files = process.argv.slice(2);
const docs = render({ files });
const scrape = ofKind(docs, 'ServiceMonitor').find((d) => d.metadata.name.endsWith('-scaling'));
const worker = (name) => {
  const pod = named(docs, 'Deployment', name).spec.template.spec;
  const env = Object.fromEntries(pod.containers[0].env.filter((e) => 'value' in e).map((e) => [e.name, e.value]));
  return { graceSeconds: pod.terminationGracePeriodSeconds, env };
};
const groups = [
  ...ofKind(docs, 'ScaledObject').map((so) => ({ name: so.metadata.name, scaledObject: so.spec, ...worker(so.spec.scaleTargetRef.name) })),
  ...ofKind(docs, 'HorizontalPodAutoscaler')
    .filter((h) => h.metadata.labels['app.kubernetes.io/component'] === 'worker')
    .map((h) => ({ name: h.metadata.name, hpa: h.spec, scrapeInterval: scrape?.spec.endpoints[0].interval, ...worker(h.spec.scaleTargetRef.name) })),
];
process.stdout.write(JSON.stringify({ groups }));
