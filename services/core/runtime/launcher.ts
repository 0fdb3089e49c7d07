/**
 * The one way a Tasker process is started from another Node process: `npm start`, the tests, the
 * fault-injection suite and the benchmark all launch `node <flags> --import telemetry/bootstrap.js
 * services/<name>/main.js` through here, so every launched process runs as production runs it.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { NODE_FLAGS } from './node-flags';

export type ServiceName = 'api' | 'worker' | 'migrate';

/** Compiled services (this file is services/core/runtime/launcher.js). */
const SERVICES = path.resolve(__dirname, '..', '..');
const BOOTSTRAP = path.join(SERVICES, 'core', 'telemetry', 'bootstrap.js');

export interface LaunchOptions {
  /** The whole environment of the child (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  detached?: boolean;
  /** Extra Node flags before the entry point (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
}

export function launchService(name: ServiceName, o: LaunchOptions): ChildProcess {
  const args = [...(o.nodeArgs ?? []), ...NODE_FLAGS, '--import', BOOTSTRAP, path.join(SERVICES, name, 'main.js')];
  return spawn(process.execPath, args, { env: o.env, stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'], detached: o.detached });
}

/** A port the OS says is free right now (bound to 0, read, released), for a launched service. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
