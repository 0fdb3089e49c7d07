// Dockerfile lint (dockerfile-utils; hadolint is not available) plus the image's contract:
// multi-stage, lockfile installs, prod-only deps in the final stage, non-root, node as PID 1.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { ROOT } from './lib/render.mjs';

const file = process.argv[2] ?? path.join(ROOT, 'Dockerfile');
const text = readFileSync(file, 'utf8');
const errors = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
const need = (cond, msg) => { if (!cond) errors.push(msg); };
const stages = text.split(/^FROM /m).slice(1);
const final = stages.at(-1) ?? '';
need(stages.length >= 3, 'multi-stage build (deps, build, runtime)');
need(/^ARG NODE_IMAGE=node:24[-\w.]*$/m.test(text), 'based on the official node:24 image');
need(/npm ci\b/.test(text) && !/npm install\b/.test(text), 'dependencies only through npm ci (lockfile)');
need(/npm ci --omit=dev/.test(text), 'production dependencies installed with npm ci --omit=dev');
need(/COPY --from=prod-deps \/app\/node_modules/.test(final), 'final stage takes node_modules from the prod-deps stage');
need(/^USER [1-9]\d*(:\d+)?$/m.test(final), 'final stage runs as a numeric non-root user');
need(/^ENTRYPOINT \["node"(, "--[a-z0-9-]+(=[^"]*)?")*\]$/m.test(final), 'node (with flags only) is the entry point (exec form, PID 1 gets signals)');
need(/^STOPSIGNAL SIGTERM$/m.test(final), 'STOPSIGNAL SIGTERM');
// The default command must exist in the build output (npm run build has run before the checks).
for (const m of text.matchAll(/"(?:\.\/)?(dist\/[^"]+\.js)"/g)) need(existsSync(path.join(ROOT, m[1])), `${m[1]} is not in the build output`);
const ignore = readFileSync(path.join(path.dirname(file), '.dockerignore'), 'utf8');
need(/^\*$/m.test(ignore), '.dockerignore starts from an empty context (*)');
for (const copied of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
  for (const src of copied[1].split(/\s+/).filter((x) => !x.startsWith('--'))) {
    need(new RegExp(`^!${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/?$`, 'm').test(ignore), `.dockerignore lets ${src} into the context`);
  }
}
if (errors.length) {
  console.error(errors.map((e) => `  ✗ ${e}`).join('\n'));
  process.exit(1);
}
console.log(`  ${path.basename(file)}: lint clean, ${stages.length} stages, non-root, node entry point`);
