/** Creates and revokes API keys through the real CLI entry point (`npm run keys`). */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const KEYS = path.resolve(__dirname, '../../services/keys/main.js');

export async function keysCli(env: Record<string, string>, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [KEYS, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
}

export async function createKey(env: Record<string, string>, client: string, admin = false): Promise<string> {
  const { stdout } = await keysCli(env, 'create', '--client', client, ...(admin ? ['--admin'] : []));
  return stdout.trim();
}
