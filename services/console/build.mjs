/**
 * Bundles the browser console into dist/console/ (index.html, app.js, app.css, app.js.map) with
 * esbuild, and prints each file's size raw and gzipped. Run by `npm run build` after tsc;
 * `node services/console/build.mjs --watch` rebuilds on every change while developing.
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import process from 'node:process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, '../../dist/console');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: here,
  // Two entry points, one name: main.tsx → app.js, app.css (our styles + uPlot's) → app.css.
  entryPoints: [
    { in: 'main.tsx', out: 'app' },
    { in: 'app.css', out: 'app' },
  ],
  outdir,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: !watch,
  sourcemap: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
};

async function copyHtml() {
  await copyFile(path.join(here, 'index.html'), path.join(outdir, 'index.html'));
}

function formatKiB(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function reportSizes(metafile) {
  const names = [...Object.keys(metafile.outputs).filter((f) => !f.endsWith('.map')), path.relative(here, path.join(outdir, 'index.html'))];
  const lines = [];
  for (const name of names.sort()) {
    const body = await readFile(path.resolve(here, name));
    lines.push(`  ${path.basename(name).padEnd(12)} ${formatKiB(body.length).padStart(10)}  ${formatKiB(gzipSync(body, { level: 9 }).length).padStart(10)} gzip`);
  }
  process.stdout.write(`console → ${path.relative(process.cwd(), outdir) || '.'}\n${lines.join('\n')}\n`);
}

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
if (watch) {
  const ctx = await esbuild.context({
    ...options,
    plugins: [{ name: 'copy-html', setup: (b) => b.onEnd(() => copyHtml()) }],
  });
  await ctx.watch();
  process.stdout.write(`console: watching ${here}\n`);
} else {
  const result = await esbuild.build(options);
  await copyHtml();
  await reportSizes(result.metafile);
}
