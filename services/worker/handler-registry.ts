/** Pairs every task type (built-in and from extensions) with its handler; the one place handlers are wired. */
import type { Config } from '../core/config/config';
import type { Db } from '../core/db/database';
import type { TaskerExtension } from '../core/tasks/extension';
import type { TaskHandler } from '../core/tasks/handler-contract';
import { taskTypes } from '../core/tasks/task-types';
import type { RegisteredType } from './execution/task-runner';
import { createSimulateHandler } from './handlers/simulate.handler';
import { threadHandler } from './threads/thread-runner';

export function createRegistry(config: Config, db: Db, extensions: readonly TaskerExtension[]): Map<string, RegisteredType> {
  const deps = { db, config };
  const inline: Record<string, TaskHandler> = { simulate: createSimulateHandler(config.SIMULATE_MIN_MS, config.SIMULATE_MAX_MS) };
  const threadModules: Record<string, string> = {};
  for (const e of extensions) {
    for (const [name, make] of Object.entries(e.handlers ?? {})) inline[name] = make(deps);
    Object.assign(threadModules, e.threadHandlers ?? {});
  }
  const registry = new Map<string, RegisteredType>();
  for (const definition of taskTypes(extensions)) {
    const modulePath = threadModules[definition.name];
    const handler =
      definition.isolation === 'thread' ? modulePath && threadHandler(modulePath, definition.memoryLimitMb) : inline[definition.name];
    if (!handler) throw new Error(`task type ${definition.name} has no ${definition.isolation ?? 'inline'} handler registered in the worker`);
    registry.set(definition.name, { definition, handler });
  }
  return registry;
}

/** Resolves WORKER_TASK_TYPES (empty = all) against the registry; unknown names are an error. */
export function selectTypes(registry: Map<string, RegisteredType>, wanted: readonly string[]): string[] {
  if (wanted.length === 0) return [...registry.keys()];
  const unknown = wanted.filter((t) => !registry.has(t));
  if (unknown.length > 0) {
    throw new Error(`WORKER_TASK_TYPES names unknown types: ${unknown.join(', ')} (known: ${[...registry.keys()].join(', ')})`);
  }
  return [...wanted];
}
