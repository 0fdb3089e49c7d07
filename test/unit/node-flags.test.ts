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
      const expected = `node ${NODE_FLAGS.join(' ')} --import `;
      assert.ok(scripts[name]?.includes(expected), `${name} runs ${expected}`);
    }
  });

  it("are the image's ENTRYPOINT", () => {
    // The last one: the final (runtime) stage's; the dev stage runs node --watch.
    const m = [...read('Dockerfile').matchAll(/^ENTRYPOINT (\[.*\])$/gm)].at(-1);
    assert.ok(m, 'Dockerfile has an exec-form ENTRYPOINT');
    assert.deepEqual(JSON.parse(m[1]!), ['node', ...NODE_FLAGS]);
  });
});
