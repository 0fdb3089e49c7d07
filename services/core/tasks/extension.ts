/**
 * Extensions add task types (and their handlers) to an installation without changing Tasker:
 * a module named in `EXTENSIONS` exports `extension: TaskerExtension`. The API takes the types
 * (payload schemas, queues), the worker the handlers. The fault-injection suite is loaded this way
 * too, so no test code is reachable from a production entry point.
 */
import type { Config } from '../config/config';
import type { Db } from '../db/database';
import type { Publisher } from '../amqp/publisher';
import type { TaskHandler } from './handler-contract';
import type { TaskTypeDefinition } from './task-types';

export interface HandlerDeps {
  db: Db;
  config: Config;
}

export interface TaskerExtension {
  name: string;
  taskTypes?: readonly TaskTypeDefinition[];
  /** Inline handlers by type name, built with the worker's dependencies. */
  handlers?: Record<string, (deps: HandlerDeps) => TaskHandler>;
  /** Thread handlers (`isolation: 'thread'`) by type name: absolute paths of modules exporting `run(payload, ctx)`. */
  threadHandlers?: Record<string, string>;
  /** API hook after a task's commit and before its publish (fault injection). */
  beforeDispatch?: () => void;
  /** API hook around the publisher (fault injection). */
  wrapPublisher?: (p: Publisher) => Publisher;
}

/** Loads the modules named in EXTENSIONS; a module without an `extension` export is a startup error. */
export function loadExtensions(paths: readonly string[]): TaskerExtension[] {
  return paths.map((p) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(p) as { extension?: TaskerExtension };
    if (!mod.extension || typeof mod.extension.name !== 'string') {
      throw new Error(`EXTENSIONS: ${p} does not export "extension" (a TaskerExtension)`);
    }
    return mod.extension;
  });
}
