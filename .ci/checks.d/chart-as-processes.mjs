// "The chart run as processes": renders the chart against the local PostgreSQL and RabbitMQ, takes
// the migration Job's, API's and worker's container args and environment exactly as rendered
// (ConfigMap/Secret references and $(VAR) expansion resolved like the kubelet does), and runs them
// as local processes in Kubernetes order: the Job to completion, then API + worker. It probes the
// startup/liveness/readiness paths and ports the chart declares, submits a task through the API,
// waits for `done`, runs the helm test pod's script against it, and expects a clean SIGTERM drain.
// This proves the chart and the app agree without a cluster.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AMQP, dropNames, freePort, freshNames, PG_ADMIN } from './lib/local-infra.mjs';
import { resolveEnv as resolvePodEnv } from './lib/pod-spec.mjs';
import { ofKind, render, ROOT } from './lib/render.mjs';

const { database, prefix } = freshNames('chart');
const logDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-chart-processes-'));
const children = new Set();

const step = (msg) => console.log(`  · ${msg}`);
// Timers are unref'd: a pending timeout race must not keep the process alive once the check is done.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** The image's contract, read from the Dockerfile's final stage: WORKDIR and ENTRYPOINT. */
function imageContract() {
  const final = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m).at(-1);
  const workdir = /^WORKDIR (\S+)$/m.exec(final)?.[1];
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(final)?.[1] ?? 'null');
  if (!workdir || !entrypoint) throw new Error('Dockerfile final stage lacks WORKDIR or exec-form ENTRYPOINT');
  return { workdir, entrypoint };
}

/** Secrets that exist outside the chart (an operator would create them), by name and key. */
const externalSecrets = {};
const resolveEnv = (docs, container) => resolvePodEnv(docs, container, externalSecrets);

/** Starts a container's process: image ENTRYPOINT + args, image paths mapped onto the repo. */
function start(label, docs, container, { workdir, entrypoint }) {
  const argv = [...(container.command ?? entrypoint), ...(container.args ?? [])].map((a) =>
    a.startsWith(`${workdir}/`) ? path.join(ROOT, a.slice(workdir.length + 1)) : a,
  );
  const [cmd, ...args] = argv;
  // The image's WORKDIR is the repository root here; any other workingDir is mapped the same way.
  const wd = container.workingDir ?? workdir;
  const cwd = wd === workdir ? ROOT : wd.startsWith(`${workdir}/`) ? path.join(ROOT, wd.slice(workdir.length + 1)) : wd;
  const bin = cmd === 'node' ? process.execPath : cmd;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...resolveEnv(docs, container) };
  const log = createWriteStream(path.join(logDir, `${label}.log`));
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  child.label = label;
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => { log.write(`spawn failed: ${e.message}\n`); resolve({ code: `spawn error (${e.code})` }); });
  });
  children.add(child);
  child.exited.then(() => children.delete(child));
  return child;
}

function tail(label) {
  try {
    return readFileSync(path.join(logDir, `${label}.log`), 'utf8').split('\n').slice(-25).join('\n');
  } catch {
    return '(no log)';
  }
}

async function httpGet(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return r.status;
  } catch {
    return 0;
  }
}

/** Polls a rendered httpGet probe until it answers 200, or fails after `seconds`. */
async function probe(label, container, kind, child, seconds) {
  const p = container[kind];
  if (!p?.httpGet) throw new Error(`${label}: no ${kind} httpGet`);
  const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : container.ports.find((x) => x.name === p.httpGet.port)?.containerPort;
  if (!port) throw new Error(`${label}: ${kind} port ${p.httpGet.port} is not a declared container port`);
  const url = `http://127.0.0.1:${port}${p.httpGet.path}`;
  const deadline = Date.now() + seconds * 1000;
  let status = 0;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${label} exited (${child.exitCode}) before ${kind} passed:\n${tail(label)}`);
    status = await httpGet(url);
    if (status === 200) return step(`${label}: ${kind} ${p.httpGet.path} on :${port} → 200`);
    await sleep(250);
  }
  throw new Error(`${label}: ${kind} ${url} never returned 200 (last ${status}):\n${tail(label)}`);
}

/**
 * What an operator does after install (`kubectl exec deploy/…-api -- node …/keys/main.js create`):
 * creates an API key with the app's CLI, run with the API container's own args and environment.
 */
function createApiKey(docs, apiContainer) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...resolveEnv(docs, apiContainer) };
  // In the image: /app/dist/services/keys/main.js; here the repository's dist/.
  const cli = path.join(ROOT, 'dist/services/keys/main.js');
  const r = spawnSync(process.execPath, [cli, 'create', '--client', 'chart-check'], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  const key = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !key) throw new Error(`creating an API key failed (${r.status}): ${r.stderr}`);
  step('API key created with the keys CLI (as kubectl exec into the API pod would)');
  return key;
}

async function submitAndWait(apiPort, apiKey) {
  const base = `http://127.0.0.1:${apiPort}`;
  const auth = { authorization: `Bearer ${apiKey}` };
  const r = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ payload: { durationMs: 100 } }),
  });
  const body = await r.json();
  if (r.status !== 202 || !body.task_id) throw new Error(`POST /tasks → ${r.status} ${JSON.stringify(body)}`);
  const deadline = Date.now() + 30_000;
  let task;
  while (Date.now() < deadline) {
    task = await (await fetch(`${base}/tasks/${body.task_id}`, { headers: auth })).json();
    if (task.status === 'done') return step(`task ${body.task_id} done after ${task.attempts} attempt(s)`);
    if (task.status === 'failed' || task.status === 'cancelled') break;
    await sleep(200);
  }
  throw new Error(`task ${body.task_id} did not reach done: ${JSON.stringify(task)}\n${tail('worker')}`);
}

/** Runs the helm test pod's own script against the local API (needs sh and curl, as its image has). */
function runHelmTestPod(docs, apiPort) {
  const pod = ofKind(docs, 'Pod').find((p) => p.metadata.annotations?.['helm.sh/hook'] === 'test');
  if (!pod) throw new Error('no helm test pod rendered');
  const c = pod.spec.containers[0];
  if (spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).status !== 0) throw new Error('curl is needed to run the helm test pod script');
  const env = { PATH: process.env.PATH, ...resolveEnv(docs, c), TASKER_URL: `http://127.0.0.1:${apiPort}` };
  const [cmd, ...args] = [...c.command, ...(c.args ?? [])];
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`helm test pod script failed (${r.status}):\n${r.stdout}${r.stderr}`);
  step(`helm test pod script: ${r.stdout.trim().split('\n').at(-1)}`);
}

async function stopAndExpectZero(child, graceSeconds) {
  child.kill('SIGTERM');
  const timer = sleep(graceSeconds * 1000).then(() => ({ timeout: true }));
  const res = await Promise.race([child.exited, timer]);
  if (res.timeout) throw new Error(`${child.label} did not exit within terminationGracePeriodSeconds=${graceSeconds}`);
  if (res.code !== 0) throw new Error(`${child.label} exited ${res.code ?? res.signal} after SIGTERM:\n${tail(child.label)}`);
  step(`${child.label}: SIGTERM → exit 0`);
}

async function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  await dropNames({ database, prefix });
}

async function main() {
  const image = imageContract();
  const [apiPort, adminPort, apiAdminPort] = [await freePort(), await freePort(), await freePort()];
  const dbUrl = new URL(PG_ADMIN);
  dbUrl.pathname = `/${database}`;
  const mgmt = new URL(AMQP.replace(/^amqp/, 'http'));
  mgmt.port = '15672';
  const docs = render({
    sets: {
      'credentials.databaseUrl': dbUrl.toString(),
      'credentials.rabbitmqUrl': AMQP,
      'credentials.rabbitmqManagementUrl': mgmt.toString(),
      'config.AMQP_PREFIX': prefix,
      'config.LOG_LEVEL': 'debug',
      'api.port': apiPort,
      'worker.adminPort': adminPort,
      'api.adminPort': apiAdminPort,
      // Stands for a Secret the operator created from the key made below.
      'tests.apiKeySecret.name': 'tasker-ci-api-key',
    },
  });
  step(`rendered ${docs.length} documents; database ${database}, AMQP prefix ${prefix}, ports ${apiPort}/${apiAdminPort}/${adminPort}; logs in ${logDir}`);

  // 1. The migration Job (a pre-install hook: before any pod of the release) runs to completion.
  const job = ofKind(docs, 'Job')[0];
  const migrate = start('migrate', docs, job.spec.template.spec.containers[0], image);
  const res = await Promise.race([migrate.exited, sleep(job.spec.activeDeadlineSeconds * 1000).then(() => ({ code: 'timeout' }))]);
  if (res.code !== 0) throw new Error(`migration Job failed (${res.code ?? res.signal}):\n${tail('migrate')}`);
  step('migration Job completed (exit 0)');

  // 2. API and worker Deployments.
  const apiDep = ofKind(docs, 'Deployment').find((d) => d.metadata.labels['app.kubernetes.io/component'] === 'api');
  const workerDep = ofKind(docs, 'Deployment').find((d) => d.metadata.labels['app.kubernetes.io/component'] === 'worker');
  const pods = [
    ['api', apiDep.spec.template.spec],
    ['worker', workerDep.spec.template.spec],
  ].map(([label, spec]) => ({ label, spec, container: spec.containers[0], child: start(label, docs, spec.containers[0], image) }));
  for (const p of pods) {
    await probe(p.label, p.container, 'startupProbe', p.child, p.container.startupProbe.periodSeconds * p.container.startupProbe.failureThreshold);
    await probe(p.label, p.container, 'livenessProbe', p.child, 10);
    await probe(p.label, p.container, 'readinessProbe', p.child, 60);
  }

  // 3. End to end through the API, then the helm test pod's script.
  // Production default AUTH_MODE=required: the API must refuse an anonymous submission…
  const servicePort = apiDep.spec.template.spec.containers[0].ports.find((x) => x.name === 'http').containerPort;
  const anon = await fetch(`http://127.0.0.1:${servicePort}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payload":{}}' });
  if (anon.status !== 401) throw new Error(`anonymous POST /tasks → ${anon.status}, expected 401 (AUTH_MODE should be required in production)`);
  step('anonymous POST /tasks → 401 (auth required under NODE_ENV=production)');
  // …and accept one with a key.
  const apiKey = createApiKey(docs, apiDep.spec.template.spec.containers[0]);
  externalSecrets['tasker-ci-api-key'] = { 'api-key': apiKey };
  await submitAndWait(servicePort, apiKey);
  runHelmTestPod(docs, servicePort);

  // 4. A rollout's SIGTERM: both drain and exit 0 within their grace period.
  for (const p of pods) await stopAndExpectZero(p.child, p.spec.terminationGracePeriodSeconds);
}

try {
  await main();
  await cleanup();
  console.log('  chart run as processes: migrate → api + worker → task done → clean drain');
} catch (e) {
  console.error(`  ✗ ${e.message}`);
  await cleanup();
  process.exit(1);
}
