/**
 * Spawns the real entry points (`node --import telemetry/bootstrap.js services/<name>/main.js`) and
 * the bare-Koa reference server as child processes, waits for readiness, and stops them. Every
 * child is registered so that a failing or interrupted run still kills them all.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { freePort, launchService, type ServiceName } from '../services/core/runtime/launcher';
import path from 'node:path';
import { peakRssMb } from './proc-stats';

const MAX_LOG_LINES = 200;

const live = new Set<ChildProcess>();

/** Error and fatal log lines of every service in the run, by process label (a few samples kept). */
export const serviceErrors = new Map<string, { count: number; samples: string[] }>();

let scenario = '';
/** Names the scenario that error lines from now on belong to. */
export function setScenario(name: string): void {
  scenario = name;
}

function recordError(label: string, line: string): void {
  if (!/"level":"(error|fatal)"/.test(line)) return;
  const key = `${scenario} / ${label}`;
  const e = serviceErrors.get(key) ?? { count: 0, samples: [] };
  e.count++;
  if (e.samples.length < 3) e.samples.push(line.length > 1500 ? `${line.slice(0, 1500)}…` : line);
  serviceErrors.set(key, e);
}

/** Kills every child still running (used on failure and at exit). */
export function killAll(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  live.clear();
}

export interface Service {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines of stdout/stderr (bounded), for error messages. */
  tail(): string;
  exited: Promise<number | string>;
  /** Peak RSS so far in MB (read before stopping). */
  peakRssMb(): number | null;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/** BENCH_NODE_OPTIONS: extra Node/V8 flags for every spawned process (to try a flag before adopting it). */
const EXTRA_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', ...(EXTRA_NODE_OPTIONS ? { NODE_OPTIONS: EXTRA_NODE_OPTIONS } : {}), ...env };
}

function spawnNode(name: string, args: string[], env: Record<string, string>): Service {
  return watch(name, spawn(process.execPath, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Registers a child, keeps the tail of its output and its error lines. */
function watch(name: string, child: ChildProcess): Service {
  live.add(child);
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    for (const l of d.toString().split('\n')) {
      if (l.trim() === '') continue;
      recordError(name, l);
      lines.push(l.length > 2000 ? `${l.slice(0, 2000)}…` : l);
      if (lines.length > MAX_LOG_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, sig) => {
      live.delete(child);
      resolve(code ?? `signal:${sig}`);
    }),
  );
  if (child.pid === undefined) throw new Error(`could not spawn ${name}`);
  return {
    name,
    pid: child.pid,
    child,
    exited,
    tail: () => lines.slice(-20).join('\n'),
    peakRssMb: () => (child.pid === undefined ? null : peakRssMb(child.pid)),
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** BENCH_CPU_PROF=<dir>: every API and worker process writes a V8 CPU profile there when it exits. */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;

export function startService(name: ServiceName, env: Record<string, string>, label: string = name): Service {
  const prof = CPU_PROF_DIR && name !== 'migrate' ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : [];
  return watch(label, launchService(name, { env: childEnv(env), nodeArgs: prof }));
}

/** Runs a one-shot entry point (migrate) to completion; rejects after `timeoutMs`. */
export async function runToExit(name: 'migrate', env: Record<string, string>, timeoutMs: number): Promise<number | string> {
  const p = startService(name, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await p.exited;
    if (code !== 0) throw new Error(`${name} exited with ${code}:\n${p.tail()}`);
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A benchmark-only child (a peer's worker or the naive service) with an IPC channel; resolves once
 * it sends `{ ready: true }` (or, with `readyPort`, once it answers HTTP there).
 */
export async function forkPeer(name: string, script: string, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Service> {
  const child = fork(path.join(__dirname, script), args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const svc = watch(name, child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${svc.tail()}`)), timeoutMs);
    child.on('message', (m: { ready?: boolean }) => {
      if (!m.ready) return;
      clearTimeout(timer);
      resolve();
    });
    void svc.exited.then((code) => (clearTimeout(timer), reject(new Error(`${name} exited (${code}) before it was ready:\n${svc.tail()}`))));
  });
  return svc;
}

/** Sends `{ cmd }` to a forked child and resolves with its first answer carrying `key`. */
export function ask<T>(s: Service, cmd: string, key: string, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${s.name} did not answer ${cmd}`)), timeoutMs);
    const on = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      clearTimeout(timer);
      s.child.off('message', on);
      resolve(m[key] as T);
    };
    s.child.on('message', on);
    s.child.send({ cmd });
  });
}

export function startBareKoa(port: number): Service {
  return spawnNode('bare-koa', [path.join(__dirname, 'bare-koa-server.js')], { PORT: String(port) });
}

/** Polls `GET http://127.0.0.1:<port><path>` until it answers 200 (bounded by `timeoutMs`). */
export async function waitReady(s: Service, port: number, urlPath = '/ready', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      throw new Error(`${s.name} exited before it was ready:\n${s.tail()}`);
    }
    const r = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    if (r) await r.arrayBuffer().catch(() => undefined);
    if (r?.status === 200) return;
    await sleep(100);
  }
  throw new Error(`${s.name} not ready on :${port} after ${timeoutMs} ms:\n${s.tail()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An API process on a free port, ready. */
export async function startApi(env: Record<string, string>, label = 'api'): Promise<{ svc: Service; port: number; url: string }> {
  const port = await freePort();
  const svc = startService('api', { ...env, PORT: String(port) }, label);
  await waitReady(svc, port);
  return { svc, port, url: `http://127.0.0.1:${port}` };
}

/** A worker process with its admin port on a free port, ready (consuming). */
export async function startWorker(env: Record<string, string>, label = 'worker'): Promise<Service> {
  const port = await freePort();
  const svc = startService('worker', { ...env, WORKER_ADMIN_PORT: String(port) }, label);
  await waitReady(svc, port);
  return svc;
}

export { freePort };
