/** Every way Tasker's processes are started uses the same Node flags (services/core/runtime/node-flags.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { NODE_FLAGS } from '../../services/core/runtime/node-flags';

const root = path.resolve(__dirname, '../../..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');

describe('node flags', () => {
  it('are on every service script in package.json', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start:api', 'start:worker', 'migrate']) {
      for (const flag of NODE_FLAGS) assert.ok(scripts[name]?.includes(`node ${flag} `), `${name} runs node ${flag}`);
    }
  });

  it("are the image's NODE_OPTIONS", () => {
    const m = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(read('Dockerfile'));
    assert.ok(m, 'Dockerfile sets NODE_OPTIONS');
    assert.deepEqual(m[1]!.split(' '), [...NODE_FLAGS]);
  });
});
