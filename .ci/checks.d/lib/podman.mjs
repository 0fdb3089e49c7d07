// Runs rendered Kubernetes containers with podman the way the kubelet would: the image's
// ENTRYPOINT unless `command` is set, `args`, the resolved env, the security context (read-only
// root filesystem, user/group, dropped capabilities, no privilege escalation), emptyDir mounts as
// tmpfs, and SIGTERM with the pod's grace period on stop.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const envDir = mkdtempSync(path.join(os.tmpdir(), 'tasker-podman-env-'));
process.on('exit', () => rmSync(envDir, { recursive: true, force: true }));

export function podman(args, { timeoutMs = 120_000, check = true } = {}) {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (check && r.status !== 0) throw new Error(`podman ${args.join(' ')} → ${r.status ?? r.signal}: ${r.stderr || r.stdout}`);
  return r;
}

/** `podman run -d` arguments for one rendered container of a pod spec. */
export function runArgs({ name, image, podSpec, container, env, network = 'host', addHosts = [], publish = [] }) {
  const psc = podSpec.securityContext ?? {};
  const sc = { ...psc, ...(container.securityContext ?? {}) };
  const a = ['run', '-d', '--name', name, `--network=${network}`];
  for (const h of addHosts) a.push('--add-host', h);
  for (const p of publish) a.push('-p', p);
  if (sc.readOnlyRootFilesystem) a.push('--read-only');
  if (sc.runAsUser !== undefined) a.push('--user', `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}`);
  if (sc.capabilities?.drop?.includes('ALL')) a.push('--cap-drop', 'ALL');
  for (const c of sc.capabilities?.add ?? []) a.push('--cap-add', c);
  if (sc.allowPrivilegeEscalation === false) a.push('--security-opt', 'no-new-privileges');
  // emptyDir volumes become tmpfs mounts at the container's mount paths (the chart's writable /tmp).
  for (const m of container.volumeMounts ?? []) {
    const v = podSpec.volumes?.find((x) => x.name === m.name);
    if (v?.emptyDir) a.push('--tmpfs', `${m.mountPath}:rw,size=${String(v.emptyDir.sizeLimit ?? '64Mi').replace(/Mi$/, 'm')},mode=1777`);
    else throw new Error(`${container.name}: volume ${m.name} is not an emptyDir; this check cannot provide it`);
  }
  if (container.workingDir) a.push('-w', container.workingDir);
  // Values go through an env file so they never show in `ps`.
  const file = path.join(envDir, `${name}.env`);
  writeFileSync(file, Object.entries(env).map(([k, v]) => `${k}=${String(v).replace(/\n/g, '\\n')}`).join('\n') + '\n', { mode: 0o600 });
  a.push('--env-file', file);
  if (container.command) a.push('--entrypoint', JSON.stringify(container.command));
  a.push(image, ...(container.args ?? []));
  return a;
}

export function start(opts) {
  podman(runArgs(opts));
  return opts.name;
}

/** Why a container is not running (e.g. "exited 1"), or '' while it runs. */
export function deadReason(name) {
  const r = podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name], { check: false });
  if (r.status !== 0) return 'vanished';
  const [state, code] = r.stdout.trim().split(' ');
  return state === 'running' ? '' : `${state} (exit ${code})`;
}

export function logs(name, lines = 40) {
  const r = podman(['logs', '--tail', String(lines), name], { check: false });
  return `${r.stdout}${r.stderr}`.trim();
}

/** Waits for a container to exit; returns its exit code, or null after `seconds`. */
export function waitExit(name, seconds) {
  return new Promise((resolve) => {
    const child = spawn('podman', ['wait', name], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), seconds * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? Number(out.trim()) : null);
    });
  });
}

/**
 * What the kubelet does on pod deletion: the preStop sleep, then SIGTERM (the image's STOPSIGNAL)
 * and SIGKILL after the rest of the grace period. Returns the exit code and the seconds it took.
 */
export async function stopLikeKubelet(name, { graceSeconds, preStopSleepSeconds = 0 }) {
  const started = Date.now();
  if (preStopSleepSeconds) await new Promise((r) => setTimeout(r, preStopSleepSeconds * 1000));
  podman(['stop', '-t', String(graceSeconds - preStopSleepSeconds), name], { timeoutMs: (graceSeconds + 30) * 1000 });
  const code = Number(podman(['inspect', '--format', '{{.State.ExitCode}}', name]).stdout.trim());
  return { code, seconds: (Date.now() - started) / 1000 };
}

export function remove(names) {
  if (names.length) podman(['rm', '-f', '-t', '0', ...names], { check: false });
}
