/** Runs the real API and worker entry points as child processes and reads their JSON logs. */
import type { ChildProcess } from 'node:child_process';
import { freePort, launchService } from '../../services/core/runtime/launcher';
import { waitFor } from './infra';

export { freePort };

export interface LogLine {
  level: string;
  msg: string;
  task_id?: string;
  [k: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  logs: LogLine[];
  /** Resolves with the exit code (or 'signal:NAME'). */
  exited: Promise<number | string>;
  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startService(name: 'api' | 'worker', env: Record<string, string>): ServiceProcess {
  const child = launchService(name, { env: { PATH: process.env.PATH ?? '', ...env } });
  const logs: LogLine[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, sig) => {
      if (code !== 0 && process.env.TEST_VERBOSE) process.stderr.write(`${name} stderr: ${stderr}\n`);
      resolve(code ?? `signal:${sig}`);
    }),
  );
  return {
    child,
    logs,
    exited,
    waitForLog: (what, pred, timeoutMs = 15_000) =>
      waitFor(`${name} log: ${what}`, () => Promise.resolve(logs.find(pred)), timeoutMs),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Starts a service and waits until its /ready answers 200. A service that does not get ready is
 * killed, so a failed start cannot leave a child process that keeps the test file from ending.
 */
export async function startReady(name: 'api' | 'worker', env: Record<string, string>, port: number): Promise<ServiceProcess> {
  const p = startService(name, env);
  try {
    await waitFor(
      `${name} ready on :${port}`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`${name} exited with ${p.child.exitCode}`);
        const r = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
        return r?.status === 200;
      },
      60_000,
      100,
    );
  } catch (e) {
    await p.stop('SIGKILL');
    throw new Error(`${name} did not get ready; last log lines: ${JSON.stringify(p.logs.slice(-5))}`, { cause: e });
  }
  return p;
}
