// What the kubelet derives from a rendered pod spec, shared by the checks that run the chart's
// containers (as local processes, or from the image with podman): the container environment
// (envFrom, then env in order with $(VAR) expansion), probe URLs, and the task round trip.
import { named } from './render.mjs';

/**
 * Container env as the kubelet builds it. `external` holds Secrets that exist outside the chart
 * (an operator creates them): { name: { key: value } }.
 */
export function resolveEnv(docs, container, external = {}) {
  const env = {};
  const secretValue = (name, key, optional) => {
    if (external[name]?.[key] !== undefined) return external[name][key];
    const s = named(docs, 'Secret', name);
    if (!s && optional) return undefined;
    if (!s) throw new Error(`Secret ${name} is not rendered by the chart (would be external)`);
    const v = s.stringData?.[key] ?? (s.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString() : undefined);
    if (v === undefined && !optional) throw new Error(`Secret ${name} has no key ${key}`);
    return v;
  };
  for (const src of container.envFrom ?? []) {
    if (src.configMapRef) Object.assign(env, named(docs, 'ConfigMap', src.configMapRef.name).data);
    if (src.secretRef) Object.assign(env, external[src.secretRef.name] ?? named(docs, 'Secret', src.secretRef.name)?.stringData ?? {});
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      const { name, key, optional } = e.valueFrom.secretKeyRef;
      const v = secretValue(name, key, optional);
      if (v !== undefined) env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef) {
      env[e.name] = named(docs, 'ConfigMap', e.valueFrom.configMapKeyRef.name).data[e.valueFrom.configMapKeyRef.key];
    } else if (e.valueFrom) throw new Error(`unsupported valueFrom for ${e.name}`);
    else env[e.name] = String(e.value ?? '').replace(/\$\(([A-Za-z0-9_]+)\)/g, (m, n) => (n in env ? env[n] : m));
  }
  return env;
}

/** The loopback URL of a rendered httpGet probe (named ports resolved against the container's ports). */
export function probeUrl(container, kind) {
  const p = container[kind];
  if (!p?.httpGet) throw new Error(`${container.name}: no ${kind} httpGet`);
  const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : container.ports?.find((x) => x.name === p.httpGet.port)?.containerPort;
  if (!port) throw new Error(`${container.name}: ${kind} port ${p.httpGet.port} is not a declared container port`);
  return `http://127.0.0.1:${port}${p.httpGet.path}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function status(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

/**
 * Polls a probe until 200; `alive()` returning a string (why it is dead) fails at once, with `logs()`.
 * Returns a line saying what passed.
 */
export async function waitProbe(label, container, kind, { seconds, alive, logs }) {
  const url = probeUrl(container, kind);
  const deadline = Date.now() + seconds * 1000;
  let last = 0;
  while (Date.now() < deadline) {
    const dead = await alive();
    if (dead) throw new Error(`${label} ${dead} before its ${kind} passed:\n${await logs()}`);
    last = await status(url);
    if (last === 200) return `${label}: ${kind} ${new URL(url).pathname} on :${new URL(url).port} → 200`;
    await sleep(250);
  }
  throw new Error(`${label}: ${kind} ${url} never returned 200 within ${seconds} s (last ${last}):\n${await logs()}`);
}

/** POST /tasks and poll until `done`; returns the task. */
export async function submitAndWait(baseUrl, { apiKey, payload = { durationMs: 100 }, seconds = 60 } = {}) {
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const r = await fetch(`${baseUrl}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ payload }) });
  const body = await r.json().catch(() => ({}));
  if (r.status !== 202 || !body.task_id) throw new Error(`POST /tasks → ${r.status} ${JSON.stringify(body)}`);
  return waitDone(baseUrl, body.task_id, { apiKey, seconds });
}

export async function waitDone(baseUrl, id, { apiKey, seconds = 60 } = {}) {
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const deadline = Date.now() + seconds * 1000;
  let task;
  while (Date.now() < deadline) {
    task = await (await fetch(`${baseUrl}/tasks/${id}`, { headers: auth })).json();
    if (task.status === 'done') return task;
    if (task.status === 'failed' || task.status === 'cancelled') break;
    await sleep(250);
  }
  throw new Error(`task ${id} did not reach done: ${JSON.stringify(task)}`);
}
