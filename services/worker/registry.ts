/** Pairs every task type of the shared contract with its handler; the one place handlers are wired. */
import type { Config } from '../core/config/config';
import type { Db } from '../core/db/database';
import { taskTypes } from '../core/tasks/task-types';
import type { RegisteredType, TaskHandler } from './handler';
import { createSimulateHandler } from './handlers/simulate.handler';
import { createTestRecordHandler } from './handlers/test-record.handler';
import { threadHandler } from './thread-runner';

export function createRegistry(config: Config, db: Db): Map<string, RegisteredType> {
  const handlers: Record<string, TaskHandler> = {
    simulate: createSimulateHandler(config.SIMULATE_MIN_MS, config.SIMULATE_MAX_MS),
    'test.record': createTestRecordHandler(db),
  };
  const threadModules: Record<string, string> = {
    'test.thread': require.resolve('./handlers/test-thread.handler'),
  };
  const registry = new Map<string, RegisteredType>();
  for (const definition of taskTypes(config.ENABLE_TEST_TASK_TYPES)) {
    const handler =
      definition.isolation === 'thread'
        ? threadModules[definition.name] && threadHandler(threadModules[definition.name]!, definition.memoryLimitMb)
        : handlers[definition.name];
    if (!handler) throw new Error(`task type ${definition.name} has no handler registered in the worker`);
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
