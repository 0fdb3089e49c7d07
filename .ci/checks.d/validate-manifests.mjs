// Strict validation of rendered manifests, standing in for kubeconform (see shared/k8s-tooling.md):
//  1. each document against its kind's precompiled validator (kubernetes-models, KEDA, Prometheus
//     Operator), or against a local schema for the two operator CRs no package ships;
//  2. alpha/beta API versions rejected unless the group is a CRD we use deliberately;
//  3. unknown fields rejected by type-checking every document against the packages' TypeScript
//     interfaces (tsc's excess-property check), since the OpenAPI validators allow them.
// Usage: node validate-manifests.mjs <rendered.yaml>...
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parseDocs } from './lib/render.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** apiVersion → [module, d.ts directory] for the packages' models. */
function modelModule(apiVersion) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}`;
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`;
  if (group === '' ) return `kubernetes-models/${version}`;
  if (group.includes('.') && !group.endsWith('.k8s.io')) return null; // a CRD without a package
  return `kubernetes-models/${group}/${version}`;
}

/** CRDs that are beta/alpha by their project's own versioning, allowed on purpose. */
const PRE_GA_ALLOWED = new Set(['keda.sh/v1alpha1', 'rabbitmq.com/v1beta1']);
/** Operator CRs without a model package: validated against a local schema of the fields we use. */
const LOCAL_SCHEMAS = {
  'rabbitmq.com/v1beta1/RabbitmqCluster': 'schemas/rabbitmqcluster.schema.json',
  'postgresql.cnpg.io/v1/Cluster': 'schemas/cnpg-cluster.schema.json',
};

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const localValidators = Object.fromEntries(
  Object.entries(LOCAL_SCHEMAS).map(([k, f]) => [k, ajv.compile(JSON.parse(readFileSync(path.join(HERE, f), 'utf8')))]),
);

async function main() {
  const files = process.argv.slice(2);
  const errors = [];
  const typed = []; // [label, module, kind, doc]
  for (const file of files) {
    const docs = parseDocs(readFileSync(file, 'utf8'));
    if (docs.length === 0) errors.push(`${file}: no documents rendered`);
    for (const doc of docs) {
      const label = `${path.basename(file)}: ${doc.kind}/${doc.metadata?.name}`;
      const av = doc.apiVersion ?? '';
      if (/v\d+(alpha|beta)\d+$/.test(av) && !PRE_GA_ALLOWED.has(av)) {
        errors.push(`${label}: pre-GA apiVersion ${av} is not allowed`);
        continue;
      }
      const local = localValidators[`${av}/${doc.kind}`];
      if (local) {
        if (!local(doc)) errors.push(`${label}: ${ajv.errorsText(local.errors)}`);
        continue;
      }
      const mod = modelModule(av);
      if (!mod) {
        errors.push(`${label}: no schema known for ${av} ${doc.kind}`);
        continue;
      }
      let Model;
      try {
        Model = (await import(mod))[doc.kind];
      } catch {
        Model = undefined;
      }
      if (!Model) {
        errors.push(`${label}: unknown kind ${doc.kind} in ${av}`);
        continue;
      }
      try {
        new Model(doc).validate();
      } catch (e) {
        errors.push(`${label}: ${e.message}`);
        continue;
      }
      typed.push([label, mod, doc.kind, doc]);
    }
  }
  errors.push(...typeCheck(typed));
  if (errors.length) {
    console.error(errors.map((e) => `  ✗ ${e}`).join('\n'));
    process.exit(1);
  }
  console.log(`  ${typed.length} documents valid (schemas + no unknown fields) in ${files.length} file(s)`);
}

/** Emits `export const dN: I<Kind> = {…}` per document and runs tsc; excess properties fail. */
function typeCheck(typed) {
  if (typed.length === 0) return [];
  const dir = mkdtempSync(path.join(HERE, '.tsc-'));
  try {
    const lines = [];
    const labels = [];
    typed.forEach(([label, mod, kind, doc], i) => {
      lines.push(`import type { I${kind} as T${i} } from '${mod}/${kind}';`);
      labels.push(label);
    });
    typed.forEach(([, , , doc], i) => {
      lines.push(`// ${labels[i].replace(/\n/g, ' ')}`);
      lines.push(`export const d${i}: T${i} = ${JSON.stringify(doc, null, 1)};`);
    });
    writeFileSync(path.join(dir, 'docs.ts'), lines.join('\n') + '\n');
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
          skipLibCheck: true, types: [], typeRoots: [],
        },
        files: ['docs.ts'],
      }),
    );
    const tsc = require.resolve('typescript/bin/tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] });
      return [];
    } catch (e) {
      const out = String(e.stdout || e.stderr);
      // Map each error line back to its document through the line's `// label` comment.
      const src = readFileSync(path.join(dir, 'docs.ts'), 'utf8').split('\n');
      return out
        .split('\n')
        .filter((l) => l.includes('error TS'))
        .map((l) => {
          const m = /docs\.ts\((\d+),/.exec(l);
          let label = '?';
          if (m) for (let n = Number(m[1]) - 1; n >= 0; n--) if (src[n].startsWith('// ')) { label = src[n].slice(3); break; }
          return `${label}: ${l.replace(/^.*error /, '')}`;
        });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
