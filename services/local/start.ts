/**
 * `npm start`: the one-command local setup. Runs the migrations, then the API and one worker in
 * the foreground with their logs interleaved. The first Ctrl-C (or SIGTERM) drains both cleanly;
 * the exit code is non-zero if either child fails.
 */
import type { ChildProcess } from 'node:child_process';
import { launchService, type ServiceName } from '../core/runtime/launcher';

function run(name: ServiceName): ChildProcess {
  // detached: the children get exactly one signal, forwarded by us, not a second one from the TTY.
  return launchService(name, { env: process.env, stdio: 'inherit', detached: true, nodeArgs: process.execArgv });
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
