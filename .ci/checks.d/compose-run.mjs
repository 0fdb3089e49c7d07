// docker-compose.yml run with podman-compose and the stand-in images (../shared/containers), as far
// as podman-compose 1.0.3 allows: it ignores `depends_on` conditions, so the start is staged here
// the way the conditions describe it (databases healthy → migrate exited 0 → the rest), and the
// healthchecks, which it neither runs on its own nor passes intact in exec form, are executed
// with `podman exec` from the parsed compose file. Asserts: a task submitted to the published API
// port reaches `done`; the tracing endpoint (jaeger stand-in: an OTLP sink that counts) received
// spans; every Prometheus target is up; `podman stop` with each app service's stop_grace_period
// exits 0. Host ports are moved to free ones through compose's own variables.
// Usage: node compose-run.mjs <image built from the Dockerfile>
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './lib/render.mjs';
import { freePort } from './lib/local-infra.mjs';
import { podman, logs } from './lib/podman.mjs';
import { sleep, submitAndWait } from './lib/pod-spec.mjs';
import { runCheck } from './lib/run-check.mjs';

const image = process.argv[2];
if (!image) throw new Error('usage: node compose-run.mjs <image>');
const project = `taskerci${process.pid}`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tasker-compose-'));
const step = (m) => console.log(`  · ${m}`);
const composeFile = path.join(ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(composeFile, 'utf8'), { merge: true });
const ctr = (service) => `${project}_${service}_1`;
const env = { ...process.env };

function pc(args, timeoutMs = 180_000) {
  const override = path.join(tmp, 'image-override.yml');
  const r = spawnSync('podman-compose', ['-p', project, '-f', composeFile, '-f', override, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`podman-compose ${args.join(' ')} → ${r.status ?? r.signal}:\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
  return r;
}

/** Runs a service's compose healthcheck inside its container (CMD-SHELL via sh -c, CMD as argv). */
function healthy(service) {
  const test = compose.services[service].healthcheck?.test;
  if (!test) throw new Error(`${service} has no healthcheck`);
  const unescape = (s) => s.replace(/\$\$/g, '$');
  const argv = test[0] === 'CMD-SHELL' ? ['sh', '-c', unescape(test[1])] : test[0] === 'CMD' ? test.slice(1).map(unescape) : ['sh', '-c', unescape(String(test))];
  return podman(['exec', ctr(service), ...argv], { check: false, timeoutMs: 30_000 }).status === 0;
}

async function until(what, seconds, fn) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last === true) return;
    } catch (e) {
      last = e.message;
    }
    await sleep(1000);
  }
  throw new Error(`${what} not within ${seconds} s${last && last !== false ? ` (last: ${String(last).slice(0, 500)})` : ''}`);
}

async function main() {
  // The image this run built stands in for compose's `build: .` (tag tasker:local).
  const appServices = Object.entries(compose.services).filter(([, s]) => s.build).map(([n]) => n);
  writeFileSync(path.join(tmp, 'image-override.yml'), `services:\n${appServices.map((s) => `  ${s}:\n    image: ${image}\n`).join('')}`);
  const ports = { API_PORT: await freePort(), RABBITMQ_UI_PORT: await freePort(), JAEGER_UI_PORT: await freePort(), PROMETHEUS_PORT: await freePort(), GRAFANA_PORT: await freePort() };
  Object.assign(env, Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])));
  step(`project ${project}; app services ${appServices.join(', ')} from ${image}; host ports ${JSON.stringify(ports)}`);

  // Stage 1: what migrate and the app wait for (depends_on: service_healthy).
  pc(['up', '-d', '--no-build', 'postgres', 'rabbitmq', 'jaeger']);
  await until('postgres healthy', 90, () => healthy('postgres'));
  await until('rabbitmq healthy', 120, () => healthy('rabbitmq'));
  step('postgres and rabbitmq healthy (their compose healthchecks, run with podman exec)');

  // Stage 2: migrate must complete successfully (service_completed_successfully).
  pc(['up', '-d', '--no-build', 'migrate']);
  const code = Number(podman(['wait', ctr('migrate')], { timeoutMs: 120_000 }).stdout.trim());
  if (code !== 0) throw new Error(`migrate exited ${code}:\n${logs(ctr('migrate'))}`);
  step('migrate exited 0');

  // Stage 3: the rest.
  pc(['up', '-d', '--no-build', 'api', 'worker', 'prometheus']);
  await until('api healthy', 90, () => healthy('api'));
  await until('worker healthy', 90, () => healthy('worker'));
  step('api and worker healthy (their compose healthchecks)');

  const task = await submitAndWait(`http://127.0.0.1:${ports.API_PORT}`, { payload: { durationMs: 200 } });
  step(`task ${task.id ?? task.task_id} submitted on the published API port reached done`);

  // Traces: the OTLP endpoint compose points the app at (OTEL_EXPORTER_OTLP_ENDPOINT → jaeger:4318).
  let sink;
  await until('spans at the tracing endpoint', 30, async () => {
    sink = await (await fetch(`http://127.0.0.1:${ports.JAEGER_UI_PORT}/`)).json();
    return sink.batches > 0;
  });
  step(`tracing endpoint received ${sink.batches} OTLP batch(es), ${sink.bytes} bytes`);

  // Prometheus (deploy/prometheus/prometheus.yml): every target up.
  let targets = [];
  await until('every Prometheus target up', 90, async () => {
    const r = await (await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/targets`)).json();
    targets = r.data.activeTargets;
    const jobs = new Set(targets.map((t) => t.labels.job));
    const ok = ['tasker-api', 'tasker-worker', 'rabbitmq'].every((j) => jobs.has(j)) && targets.every((t) => t.health === 'up');
    return ok || targets.map((t) => `${t.labels.job}=${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join(', ');
  });
  step(`Prometheus targets up: ${targets.map((t) => `${t.labels.job} ${t.scrapeUrl}`).join(', ')}`);

  // Drain: docker compose stop sends SIGTERM and waits stop_grace_period.
  for (const s of ['worker', 'api']) {
    const grace = Number.parseInt(compose.services[s].stop_grace_period ?? '10', 10);
    const t0 = Date.now();
    podman(['stop', '-t', String(grace), ctr(s)], { timeoutMs: (grace + 30) * 1000 });
    const exit = Number(podman(['inspect', '--format', '{{.State.ExitCode}}', ctr(s)]).stdout.trim());
    if (exit !== 0) throw new Error(`${s} exited ${exit} on stop -t ${grace}:\n${logs(ctr(s))}`);
    step(`${s}: stop -t ${grace} (stop_grace_period) → exit 0 after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

await runCheck(main, 'docker-compose.yml with stand-ins: staged start → task done → spans → Prometheus targets up → drain', async () => {
  try {
    pc(['down', '-v', '-t', '2']);
  } catch (e) {
    console.error(`  (cleanup: ${e.message.split('\n')[0]})`);
  }
  rmSync(tmp, { recursive: true, force: true });
});
