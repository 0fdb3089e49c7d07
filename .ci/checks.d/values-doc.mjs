// Regenerates (--write) or checks the values table in charts/tasker/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHART } from './lib/render.mjs';
import { END, START, undocumentedLeaves, valuesTable } from './lib/values-doc.mjs';

const readme = path.join(CHART, 'README.md');
const text = readFileSync(readme, 'utf8');
const re = new RegExp(`${START.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*?${END}`);
if (!re.test(text)) throw new Error(`README.md lacks the ${START} … ${END} markers`);
const updated = text.replace(re, valuesTable());
const missing = undocumentedLeaves();
if (missing.length) {
  console.error(`  ✗ values without a "# --" comment: ${missing.join(', ')}`);
  process.exit(1);
}
if (process.argv.includes('--write')) {
  writeFileSync(readme, updated);
  console.log('  README values table written');
} else if (updated !== text) {
  console.error('  ✗ charts/tasker/README.md values table is stale: run node .ci/checks.d/values-doc.mjs --write');
  process.exit(1);
} else {
  console.log('  every value documented; README table current');
}
