/**
 * `npm start`: the one-command local setup. Runs the migrations, then the API and one worker in
 * the foreground with their logs interleaved. The first Ctrl-C (or SIGTERM) drains both cleanly;
 * the exit code is non-zero if either child fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { NODE_FLAGS } from '../core/runtime/node-flags';

const root = path.resolve(__dirname, '..');
const entry = (name: string) => path.join(root, name, 'main.js');

function run(name: string): ChildProcess {
  // detached: the children get exactly one signal, forwarded by us, not a second one from the TTY.
  const bootstrap = path.join(root, 'core', 'telemetry', 'bootstrap.js');
  return spawn(process.execPath, [...process.execArgv, ...NODE_FLAGS, '--import', bootstrap, entry(name)], { stdio: 'inherit', detached: true });
}

function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function main(): Promise<void> {
  const migrate = run('migrate');
  const migrated = await exitCode(migrate);
  if (migrated !== 0) process.exit(migrated);

  const children = [run('api'), run('worker')];
  const exits = children.map(exitCode);
  let signalled = false;
  const forward = (signal: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null) c.kill(signal);
    signalled = true;
  };
  process.on('SIGINT', () => forward('SIGTERM'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  // If one child dies on its own, stop the other so the failure is not hidden.
  void Promise.race(exits).then(() => {
    if (!signalled) forward('SIGTERM');
  });
  const codes = await Promise.all(exits);
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}

void main();
