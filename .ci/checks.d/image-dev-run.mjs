// `tilt up` without a cluster: the Tiltfile's image (the Dockerfile `dev` target) run with what
// the chart renders from k8s/dev/tasker-values.yaml and the Tiltfile's --set, in Tilt's order:
// the migration Job's container must EXIT 0 (Tilt holds the API and workers until the Job is
// complete), then the API and worker must serve their probes, and a task submitted through the
// port-forwarded API port must reach `done`. The k8s/dev connection Secret is used with its
// Service host names (postgres, rabbitmq, jaeger → this machine via --add-host) and this
// machine's credentials, a fresh database and AMQP prefix.
// Usage: node image-dev-run.mjs <dev image ref>
import { ofKind } from './lib/render.mjs';
import { dropNames, freshNames } from './lib/local-infra.mjs';
import { renderDev } from './lib/tilt-dev.mjs';
import { deadReason, logs, remove, start, waitExit } from './lib/podman.mjs';
import { resolveEnv, submitAndWait, waitProbe } from './lib/pod-spec.mjs';
import { runCheck } from './lib/run-check.mjs';

const image = process.argv[2];
if (!image) throw new Error('usage: node image-dev-run.mjs <dev image>');
const names = freshNames('dev');
const containers = [];
const step = (m) => console.log(`  · ${m}`);
const JOB_EXIT_SECONDS = 90;

async function main() {
  const { tilt, docs, external, apiPort } = await renderDev(names);
  step(`rendered ${tilt.valuesFile} + Tiltfile --set ${tilt.sets.join(' ')}: ${docs.length} documents`);
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

await runCheck(main, 'dev image the Tilt way: Job exits 0 → API + worker ready → task done', async () => {
  remove(containers);
  await dropNames(names);
});
