// Renders the chart with the given values files and prints, as JSON, what an autoscaler and the
// kubelet read for each worker group: its ScaledObject (triggers, min/max, polling, cooldown,
// advanced behaviour) and its Deployment's drain budget and grace period. Used by the autoscaling
// simulation (npm run test:autoscale), so it drives workers with exactly what the chart renders.
import { named, ofKind, render } from './lib/render.mjs';

const files = process.argv.slice(2);
const docs = render({ files });
const groups = ofKind(docs, 'ScaledObject').map((so) => {
  const dep = named(docs, 'Deployment', so.spec.scaleTargetRef.name);
  const pod = dep.spec.template.spec;
  const env = Object.fromEntries(pod.containers[0].env.filter((e) => 'value' in e).map((e) => [e.name, e.value]));
  return { name: so.metadata.name, scaledObject: so.spec, graceSeconds: pod.terminationGracePeriodSeconds, env };
});
process.stdout.write(JSON.stringify({ groups }));
