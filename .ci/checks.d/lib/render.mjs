// Renders the chart with the helm binary that run-all installed (HELM), and parses the documents.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = path.join(ROOT, 'charts/tasker');
export const HELM = process.env.HELM ?? 'helm';
export const KUBE_VERSION = '1.33.0';
export const RELEASE = 'rel';
export const NAMESPACE = 'tasker-ci';

/** Every values scenario the chart ships (charts/tasker/ci/*-values.yaml). */
export function scenarios() {
  const dir = path.join(CHART, 'ci');
  return readdirSync(dir)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => ({ name: f.replace(/-values\.yaml$/, ''), file: path.join(dir, f) }));
}

/** Minimal credentials so a knob test renders; the credential tests pass their own. */
export const BASE_SETS = {
  'credentials.databaseUrl': 'postgres://u:p@db.example.internal:5432/tasker',
  'credentials.rabbitmqUrl': 'amqp://u:p@mq.example.internal:5672/',
  'credentials.rabbitmqManagementUrl': 'http://u:p@mq.example.internal:15672/',
};

function args({ files = [], sets = {}, json = {} }) {
  const a = ['template', RELEASE, CHART, '-n', NAMESPACE, '--kube-version', KUBE_VERSION];
  for (const f of files) a.push('-f', f);
  for (const [k, v] of Object.entries(sets)) a.push('--set', `${k}=${v}`);
  for (const [k, v] of Object.entries(json)) a.push('--set-json', `${k}=${JSON.stringify(v)}`);
  return a;
}

/** helm template → YAML text; throws with helm's stderr on failure. */
export function renderText(opts = {}) {
  return execFileSync(HELM, args(opts), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** helm template expected to fail → its stderr (throws if it succeeded). */
export function renderError(opts = {}) {
  const r = spawnSync(HELM, args(opts), { encoding: 'utf8' });
  if (r.status === 0) throw new Error('expected helm template to fail, but it rendered');
  return r.stderr;
}

export function parseDocs(text) {
  const docs = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`YAML error: ${d.errors[0].message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) docs.push(v);
  }
  return docs;
}

/** Render and parse; `sets` are --set pairs (typed: true, 3), `json` --set-json pairs. */
export function render(opts = {}) {
  return parseDocs(renderText(opts));
}

export const ofKind = (docs, kind) => docs.filter((d) => d.kind === kind);
export const named = (docs, kind, name) => docs.find((d) => d.kind === kind && d.metadata?.name === name);

/** Every pod spec in a rendered release (Deployments, Jobs, bare Pods), with its owner. */
export function podSpecs(docs) {
  const out = [];
  for (const d of docs) {
    if (d.kind === 'Deployment' || d.kind === 'Job') out.push({ owner: d, spec: d.spec.template.spec });
    if (d.kind === 'Pod') out.push({ owner: d, spec: d.spec });
  }
  return out;
}
