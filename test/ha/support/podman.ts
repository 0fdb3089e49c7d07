/**
 * The podman calls the HA suite makes (rootful podman from shared/containers/setup.sh). Every
 * container and network it creates is named `tasker-ha-*`, so cleanup can never touch anyone
 * else's; nothing is published on anything but 127.0.0.1.
 */
import { execFile } from 'node:child_process';

export const PREFIX = 'tasker-ha-';
export const NETWORK = `${PREFIX}net`;

/** Runs `podman …`; resolves with stdout, rejects with stderr in the message. */
export function podman(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`podman ${args.slice(0, 3).join(' ')} …: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** `podman exec` that resolves with stdout or null when the command fails (node down, not ready). */
export const execIn = (name: string, cmd: string[], timeoutMs = 15_000): Promise<string | null> =>
  podman(['exec', name, ...cmd], timeoutMs).catch(() => null);

export async function ensureNetwork(): Promise<void> {
  const exists = await podman(['network', 'exists', NETWORK]).then(() => true, () => false);
  if (!exists) await podman(['network', 'create', NETWORK]);
}

/** Removes every `tasker-ha-*` container (with its anonymous volumes) and the network. */
export async function removeAll(): Promise<void> {
  const names = (await podman(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((n) => n.startsWith(PREFIX));
  if (names.length > 0) await podman(['rm', '-f', '-v', '-t', '0', ...names], 120_000);
  await podman(['network', 'rm', '-f', NETWORK]).catch(() => undefined);
}

/** Fails with the command that makes the images when they are missing. */
export async function requireImages(images: string[]): Promise<void> {
  for (const image of images) {
    const ok = await podman(['image', 'exists', image]).then(() => true, () => false);
    if (!ok) throw new Error(`image ${image} is missing: run bash ../shared/containers/setup.sh --standins (from the repository root)`);
  }
}
