import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTopology, queuesFor } from '../../services/core/amqp/topology';
import type { TaskerExtension } from '../../services/core/tasks/extension';
import { parseTaskMessage } from '../../services/core/tasks/task';
import { PRODUCTION_TASK_TYPES, taskTypes } from '../../services/core/tasks/task-types';

const findTaskType = (name: string) => taskTypes().find((t) => t.name === name);
const TASK_TYPES = PRODUCTION_TASK_TYPES;

describe('task message', () => {
  it('accepts a well-formed message', () => {
    const m = { task_id: '8c0b2a1e-6f2d-4c59-9f0a-0d6f3c1b2a11', type: 'simulate' };
    assert.deepEqual(parseTaskMessage(Buffer.from(JSON.stringify(m))), m);
  });
  for (const [name, body] of [
    ['not JSON', 'nope'],
    ['JSON null', 'null'],
    ['no task id', '{"type":"simulate"}'],
    ['a task id that is not a uuid', '{"task_id":"1","type":"simulate"}'],
    ['no type', '{"task_id":"8c0b2a1e-6f2d-4c59-9f0a-0d6f3c1b2a11"}'],
  ] as const) {
    it(`rejects ${name}`, () => assert.equal(parseTaskMessage(Buffer.from(body)), null));
  }
});

describe('simulate payload schema', () => {
  const schema = findTaskType('simulate')!.payloadSchema;
  it('accepts any JSON and valid controls', () => {
    for (const p of [1, 'x', [1], null, { a: 1 }, { durationMs: 0, failTimes: 2 }]) assert.ok(schema.safeParse(p).success);
  });
  it('rejects invalid controls', () => {
    for (const p of [{ durationMs: -1 }, { durationMs: 'x' }, { failTimes: 1.5 }]) assert.ok(!schema.safeParse(p).success);
  });
});

describe('topology', () => {
  it('declares one queue per queue group, routed by type, with a dead-letter exchange', () => {
    const t = buildTopology('p', TASK_TYPES, 7);
    assert.equal(t.exchange, 'p.tasks');
    assert.equal(t.deadLetterQueue, 'p.dead-letter');
    assert.deepEqual(t.queues, [{ name: 'p.q.simulate', types: ['simulate'] }]);
    assert.deepEqual(queuesFor(t, ['simulate']).map((q) => q.name), ['p.q.simulate']);
    assert.deepEqual(queuesFor(t, ['unknown']), []);
  });
});

describe('task types', () => {
  it('registers only the built-in types unless an extension adds its own', () => {
    assert.deepEqual(taskTypes().map((t) => t.name), ['simulate']);
    const ext: TaskerExtension = { name: 'x', taskTypes: [{ ...PRODUCTION_TASK_TYPES[0]!, name: 'x.one', queue: 'x' }] };
    assert.deepEqual(taskTypes([ext]).map((t) => t.name), ['simulate', 'x.one']);
  });
  it('refuses a type registered twice', () => {
    const dup: TaskerExtension = { name: 'dup', taskTypes: PRODUCTION_TASK_TYPES };
    assert.throws(() => taskTypes([dup]), /simulate is registered twice/);
  });
});
