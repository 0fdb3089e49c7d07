/**
 * Requests waiting for a task to become terminal (GET /tasks/:id?wait=…, POST /tasks?wait=…).
 *
 * Completion is pushed: the API process holds one LISTEN connection (data-access/terminal-listener)
 * whose notifications call `wake`. Notifications can be missed (the listener was reconnecting, the
 * worker died between its commit and its NOTIFY), so every `recheckMs` the ids still waited for are
 * re-read in one query and the terminal ones woken: a missed notification delays an answer by at
 * most `recheckMs`. A waiter costs one map entry, one timer and one abort listener.
 */
import type { Logger } from '../../core/log/logger';
import { createPeriodic } from '../../core/lifecycle/periodic';

/** How a wait ended: the task is terminal, the time ran out, the client went away, or the API is draining. */
export type WaitEnd = 'terminal' | 'timeout' | 'aborted' | 'released';

export interface WaiterHub {
  /** Resolves when `id` is announced terminal, after `ms`, when `signal` aborts, or on `releaseAll`. */
  wait(id: string, ms: number, signal: AbortSignal): Promise<WaitEnd>;
  /** Task ids that became terminal. */
  wake(ids: Iterable<string>): void;
  /** Re-reads every id waited for and wakes the terminal ones (after a reconnect, and periodically). */
  recheck(): Promise<void>;
  /** Ends every wait now and every later one at once (drain). */
  releaseAll(): void;
  count(): number;
  start(): void;
  stop(): Promise<void>;
}

export interface WaiterHubOptions {
  /** Which of these ids are terminal now. */
  findTerminal: (ids: string[]) => Promise<string[]>;
  recheckMs: number;
  logger: Logger;
  /** Called when a wait starts and with every ended wait (metrics). */
  onStart?: () => void;
  onEnd?: (end: WaitEnd) => void;
}

interface Waiter {
  finish(end: WaitEnd): void;
}

/** Ids per re-read statement. */
const RECHECK_CHUNK = 5_000;

export function createWaiterHub(o: WaiterHubOptions): WaiterHub {
  const byId = new Map<string, Set<Waiter>>();
  let waiting = 0;
  let released = false;

  const recheck = async (): Promise<void> => {
    const ids = [...byId.keys()];
    for (let i = 0; i < ids.length; i += RECHECK_CHUNK) hub.wake(await o.findTerminal(ids.slice(i, i + RECHECK_CHUNK)));
  };
  const periodic = createPeriodic('wait-recheck', o.recheckMs, () => (byId.size > 0 ? recheck() : Promise.resolve()), o.logger);

  const hub: WaiterHub = {
    wait(id, ms, signal) {
      if (released) return Promise.resolve('released');
      if (signal.aborted) return Promise.resolve('aborted');
      return new Promise<WaitEnd>((resolve) => {
        const set = byId.get(id) ?? new Set<Waiter>();
        byId.set(id, set);
        waiting += 1;
        o.onStart?.();
        const waiter: Waiter = {
          finish(end) {
            if (!set.delete(waiter)) return; // already finished
            if (set.size === 0 && byId.get(id) === set) byId.delete(id);
            waiting -= 1;
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            o.onEnd?.(end);
            resolve(end);
          },
        };
        const onAbort = () => waiter.finish('aborted');
        const timer = setTimeout(() => waiter.finish('timeout'), ms);
        signal.addEventListener('abort', onAbort, { once: true });
        set.add(waiter);
      });
    },
    wake(ids) {
      for (const id of ids) {
        const set = byId.get(id);
        if (set) for (const w of [...set]) w.finish('terminal');
      }
    },
    recheck,
    releaseAll() {
      released = true;
      for (const set of [...byId.values()]) for (const w of [...set]) w.finish('released');
    },
    count: () => waiting,
    start: () => periodic.start(),
    stop: () => periodic.stop(),
  };
  return hub;
}
