import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containsNul, storableJson } from '../../services/core/tasks/storable-json';

describe('storable JSON', () => {
  it('finds U+0000 in strings and keys at any depth, and only there', () => {
    assert.equal(containsNul({ a: [1, { b: 'x\0y' }] }), true);
    assert.equal(containsNul({ ['k\0']: 1 }), true);
    assert.equal(containsNul({ a: 'backslash \\u0000 is text, not NUL' }), false);
    assert.equal(containsNul([null, 1, true, 'ok']), false);
  });

  it('serialises storable results and refuses the rest with a reason', () => {
    assert.equal(storableJson({ a: 1 }), '{"a":1}');
    assert.equal(storableJson(undefined), 'null');
    assert.throws(() => storableJson({ n: 1n }), /not JSON-serialisable/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => storableJson(circular), /not JSON-serialisable/);
    assert.throws(() => storableJson({ s: '\0' }), /U\+0000/);
  });
});
