/**
 * The fault-injection suite's extension: test-only task types and their handlers, and the API's
 * fault switches. Loaded only by test harnesses, through `EXTENSIONS=<this file>` (see
 * test/support/infra.ts); no production module imports it.
 *
 * FAULT_INJECTION (read here, not by the service's config: it is not a production setting):
 *  - api-exit-after-commit: the API exits with code 70 after a task's commit, before its publish;
 *  - publish-thrice: every message is published three times (duplicates must be harmless).
 */
import type { Publisher } from '../../services/core/amqp/publisher';
import type { TaskerExtension } from '../../services/core/tasks/extension';
import { createTestRecordHandler } from './test-record.handler';
import { TEST_TASK_TYPES } from './test-task-types';

const faults = new Set((process.env.FAULT_INJECTION ?? '').split(',').map((f) => f.trim()).filter(Boolean));

function publishThrice(p: Publisher): Publisher {
  return {
    exchange: p.exchange,
    isReady: () => p.isReady(),
    publish: (msg, headers) => Promise.all([0, 1, 2].map(() => p.publish(msg, headers))).then(() => undefined),
  };
}

export const extension: TaskerExtension = {
  name: 'tasker-test',
  taskTypes: TEST_TASK_TYPES,
  handlers: { 'test.record': ({ db }) => createTestRecordHandler(db) },
  threadHandlers: { 'test.thread': require.resolve('./test-thread.handler') },
  beforeDispatch: faults.has('api-exit-after-commit') ? () => process.exit(70) : undefined,
  wrapPublisher: faults.has('publish-thrice') ? publishThrice : undefined,
};

/** The environment that loads this extension into a spawned API or worker. */
export const TEST_EXTENSION_PATH = __filename;
