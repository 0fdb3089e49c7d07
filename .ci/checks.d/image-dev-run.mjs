// `tilt up` without a cluster: the Tiltfile's image (the Dockerfile `dev` target) run with what
// the chart renders from k8s/dev/tasker-values.yaml and the Tiltfile's --set, in Tilt's order:
// the migration Job's container must EXIT 0 (Tilt holds the API and workers until the Job is
// complete), then the API and worker must serve their probes, and a task submitted through the
// port-forwarded API port must reach `done`. The k8s/dev connection Secret is used with its
// Service host names (postgres, rabbitmq, jaeger → this machine via --add-host) and this
// machine's credentials, a fresh database and AMQP prefix.
// Usage: node image-dev-run.mjs <dev image ref>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, ofKind, render } from './lib/render.mjs';
import { dropNames, freePort, freshNames } from './lib/local-infra.mjs';
import { deadReason, logs, remove, start, waitExit } from './lib/podman.mjs';
import { resolveEnv, submitAndWait, waitProbe } from './lib/pod-spec.mjs';

const image = process.argv[2];
if (!image) throw new Error('usage: node image-dev-run.mjs <dev image>');
const names = freshNames('dev');
const containers = [];
const step = (m) => console.log(`  · ${m}`);
const JOB_EXIT_SECONDS = 90;

/** What the Tiltfile builds and deploys, read from it so the check follows the Tiltfile. */
function tiltContract() {
  const tilt = readFileSync(path.join(ROOT, 'Tiltfile'), 'utf8');
  const build = /docker_build\(\s*'([^']+)'[\s\S]*?target='([^']+)'/.exec(tilt);
  const values = /helm\(\s*'charts\/tasker'[\s\S]*?values=\['([^']+)'\]/.exec(tilt);
  const groups = /worker_groups = settings\.get\('worker_groups', \[([^\]]*)\]\)/.exec(tilt);
  const set = /set=\['([^']+)' % g for g in worker_groups\]/.exec(tilt);
  if (!build || !values || !groups || !set) throw new Error('Tiltfile: docker_build target, helm values, worker_groups or set not found where expected');
  const workerGroups = groups[1].split(',').map((s) => s.trim().replace(/^'|'$/g, '')).filter(Boolean);
  return { ref: build[1], target: build[2], valuesFile: values[1], sets: workerGroups.map((g) => set[1].replace('%s', g)) };
}

async function main() {
  const tilt = tiltContract();
  if (tilt.target !== 'dev') throw new Error(`Tiltfile builds target ${tilt.target}; this check builds and runs 'dev'`);
  const [apiPort, apiAdminPort, workerAdminPort] = [await freePort(), await freePort(), await freePort()];
  const sets = Object.fromEntries(tilt.sets.map((s) => s.split(/=(.*)/s).slice(0, 2)));
  // Ports moved off 8000/8001 (host network; the API and worker admin ports would collide), and a
  // fresh AMQP prefix; everything else is as rendered.
  Object.assign(sets, { 'config.AMQP_PREFIX': names.prefix, 'api.port': apiPort, 'api.adminPort': apiAdminPort, 'worker.adminPort': workerAdminPort });
  const docs = render({ files: [path.join(ROOT, tilt.valuesFile)], sets });
  step(`rendered ${tilt.valuesFile} + Tiltfile --set ${tilt.sets.join(' ')}: ${docs.length} documents`);

  // The k8s/dev Secret the chart reads (existingSecret), with this machine's credentials.
  const devSecrets = parseAllDocuments(readFileSync(path.join(ROOT, 'k8s/dev/connection-secret.yaml'), 'utf8')).map((d) => d.toJS());
  const conn = devSecrets.find((d) => d.kind === 'Secret' && d.metadata.name === 'tasker-dev-connection');
  const local = (url, like) => {
    const u = new URL(url);
    const l = new URL(like);
    u.username = l.username;
    u.password = l.password;
    if (u.protocol.startsWith('postgres')) u.pathname = `/${names.database}`;
    return u.toString();
  };
  const external = {
    'tasker-dev-connection': {
      DATABASE_URL: local(conn.stringData.DATABASE_URL, names.databaseUrl),
      RABBITMQ_URL: local(conn.stringData.RABBITMQ_URL, names.amqpUrl),
      RABBITMQ_MANAGEMENT_URL: local(conn.stringData.RABBITMQ_MANAGEMENT_URL, names.managementUrl),
    },
  };
  const hosts = [...new Set(Object.values(external['tasker-dev-connection']).map((u) => new URL(u).hostname).concat('jaeger'))];
  const addHosts = hosts.map((h) => `${h}:127.0.0.1`);

  const run = (label, podSpec, container) => {
    const name = `tasker-ci-dev-${label}-${process.pid}`;
    containers.push(name);
    // Tilt substitutes its build of `docker_build('<ref>')` for every image named <ref>.
    if (container.image.split(':')[0] !== tilt.ref) throw new Error(`${label}: rendered image ${container.image} is not Tilt's build '${tilt.ref}'`);
    start({ name, image, podSpec, container, env: resolveEnv(docs, container, external), addHosts });
    return name;
  };

  // 1. The Job first. A container that never exits (node --watch) fails here, as it does under Tilt.
  const jobSpec = ofKind(docs, 'Job')[0].spec.template.spec;
  const job = run('migrate', jobSpec, jobSpec.containers[0]);
  const code = await waitExit(job, JOB_EXIT_SECONDS);
  if (code !== 0) {
    throw new Error(
      `migration Job container ${code === null ? `still running after ${JOB_EXIT_SECONDS} s: the Job never completes, and Tilt holds the API and workers behind it` : `exited ${code}`} (args ${JSON.stringify(jobSpec.containers[0].args)}):\n${logs(job)}`,
    );
  }
  step(`migration Job container (${image}, args ${jobSpec.containers[0].args.join(' ')}) exited 0`);

  // 2. Every long-running dev container serves its probes.
  const deps = ofKind(docs, 'Deployment');
  for (const dep of deps) {
    const podSpec = dep.spec.template.spec;
    const c = podSpec.containers[0];
    const name = run(dep.metadata.name, podSpec, c);
    const o = { alive: () => deadReason(name), logs: () => logs(name) };
    step(await waitProbe(dep.metadata.name, c, 'startupProbe', { ...o, seconds: 60 }));
    step(await waitProbe(dep.metadata.name, c, 'readinessProbe', { ...o, seconds: 60 }));
  }

  // 3. Through the API port the Tiltfile forwards (8000 in a cluster; moved here).
  const task = await submitAndWait(`http://127.0.0.1:${apiPort}`, { payload: { durationMs: 100 } });
  step(`task ${task.id ?? task.task_id} submitted through the API reached done (${task.attempts} attempt)`);
}

try {
  await main();
  console.log('  dev image the Tilt way: Job exits 0 → API + worker ready → task done');
} catch (e) {
  console.error(`  ✗ ${e.message}`);
  process.exitCode = 1;
} finally {
  remove(containers);
  await dropNames(names);
}
