// Prints the workload names (what Tilt calls resources) in rendered manifest files, one per line,
// for tiltcheck to verify every k8s_resource() names a real workload.
import { readFileSync } from 'node:fs';
import { parseDocs } from './lib/render.mjs';

const KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);
for (const f of process.argv.slice(2)) {
  for (const d of parseDocs(readFileSync(f, 'utf8'))) if (KINDS.has(d.kind)) console.log(d.metadata.name);
}
