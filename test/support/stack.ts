/** A fresh test environment with one API and one worker process running and ready. */
import { createTestEnv, type TestEnv } from './infra';
import { freePort, startReady, type ServiceProcess } from './processes';

export interface Stack {
  t: TestEnv;
  api: ServiceProcess;
  worker: ServiceProcess;
  /** http://127.0.0.1:<API port> */
  base: string;
  /** http://127.0.0.1:<worker admin port> */
  workerBase: string;
  /** Stops both processes (a second stop is harmless) and removes the environment. */
  stop(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}): Promise<Stack> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const t = await createTestEnv({ PORT: String(port), WORKER_ADMIN_PORT: String(adminPort), ...overrides });
  const started: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop()));
    await t.cleanup();
  };
  try {
    started.push(await startReady('api', t.env, port));
    started.push(await startReady('worker', t.env, adminPort));
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  return { t, api: started[0]!, worker: started[1]!, base: `http://127.0.0.1:${port}`, workerBase: `http://127.0.0.1:${adminPort}`, stop };
}
