/** Every configuration key the app reads is documented in the README's configuration table. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CONFIG_KEYS } from '../../services/core/config/config';

describe('README configuration table', () => {
  it('names every configuration key', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Guarantees'));
    assert.deepEqual(CONFIG_KEYS.filter((k) => !table.includes(`\`${k}\``)), []);
  });
});
