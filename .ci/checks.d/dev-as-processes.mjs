// The Tilt dev path as local processes, for machines where the image cannot be built: every
// container the chart renders from the Tiltfile's values (k8s/dev) run with the Dockerfile `dev`
// stage's ENTRYPOINT and the rendered args (image paths mapped onto this checkout's dist/), in
// Tilt's order. Each Job-like container must exit 0 (under Tilt the API and workers wait for the
// Job to complete), each long-running one must serve its probes, and a task submitted through the
// API must reach `done`. image-dev-run.mjs does the same from the built dev image.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, ofKind } from './lib/render.mjs';
import { dropNames, freshNames } from './lib/local-infra.mjs';
import { resolveEnv, submitAndWait, waitProbe } from './lib/pod-spec.mjs';
import { renderDev } from './lib/tilt-dev.mjs';
import { runCheck } from './lib/run-check.mjs';

const JOB_EXIT_SECONDS = 60;
const names = freshNames('devproc');
const children = [];
const step = (m) => console.log(`  · ${m}`);

/** ENTRYPOINT and WORKDIR of a Dockerfile stage, following `FROM <stage>` for the WORKDIR. */
function stageContract(target) {
  const stages = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m).slice(1);
  const byName = Object.fromEntries(stages.map((s) => [/ AS (\S+)/i.exec(s.split('\n')[0])?.[1], s]));
  const stage = byName[target];
  if (!stage) throw new Error(`Dockerfile has no stage ${target}`);
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(stage)?.[1] ?? 'null');
  let workdir;
  for (let s = stage; s && !workdir; s = byName[s.split(/\s/)[0]]) workdir = /^WORKDIR (\S+)$/m.exec(s)?.[1];
  if (!entrypoint || !workdir) throw new Error(`Dockerfile stage ${target} lacks an exec-form ENTRYPOINT or a WORKDIR`);
  return { entrypoint, workdir };
}

function startProcess(label, docs, container, external, { entrypoint, workdir }) {
  const argv = [...(container.command ?? entrypoint), ...(container.args ?? [])].map((a) => (a.startsWith(`${workdir}/`) ? path.join(ROOT, a.slice(workdir.length + 1)) : a));
  const [cmd, ...args] = argv;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...resolveEnv(docs, container, external) };
  // Own process group: `node --watch` runs the app as its child, and cleanup must reach both.
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.out = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.out += d));
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  child.label = label;
  children.push(child);
  return child;
}

const tail = (c) => c.out.split('\n').slice(-15).join('\n');

async function main() {
  const image = stageContract('dev');
  const { tilt, docs, external, apiPort } = await renderDev(names, { hostOverride: '127.0.0.1' });
  step(`rendered ${tilt.valuesFile} + Tiltfile --set ${tilt.sets.join(' ')}; dev ENTRYPOINT ${JSON.stringify(image.entrypoint)}`);

  for (const job of ofKind(docs, 'Job')) {
    const c = job.spec.template.spec.containers[0];
    const p = startProcess(job.metadata.name, docs, c, external, image);
    let timer;
    const code = await Promise.race([p.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), JOB_EXIT_SECONDS * 1000)))]);
    clearTimeout(timer);
    if (code !== 0) {
      throw new Error(`${job.metadata.name}: ${code === 'timeout' ? `still running after ${JOB_EXIT_SECONDS} s — the Job never completes, and Tilt holds the API and workers behind it` : `exited ${code}`}\n${tail(p)}`);
    }
    step(`${job.metadata.name}: ${[...image.entrypoint, ...c.args].join(' ')} → exit 0`);
  }
  for (const dep of ofKind(docs, 'Deployment')) {
    const c = dep.spec.template.spec.containers[0];
    const p = startProcess(dep.metadata.name, docs, c, external, image);
    const o = { alive: () => (p.exitCode !== null ? `exited ${p.exitCode}` : ''), logs: () => tail(p) };
    step(await waitProbe(dep.metadata.name, c, 'startupProbe', { ...o, seconds: 60 }));
    step(await waitProbe(dep.metadata.name, c, 'readinessProbe', { ...o, seconds: 60 }));
  }
  const task = await submitAndWait(`http://127.0.0.1:${apiPort}`);
  step(`task ${task.id ?? task.task_id} submitted through the API port reached done`);
}

await runCheck(main, 'Tilt dev path as processes: Job exits 0 → API + worker ready → task done', async () => {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await dropNames(names);
});
