// docker-compose.yml against the Compose Specification schema bundled in dclint (there is no
// compose plugin on this machine), plus the promises the README makes about the file.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { ROOT } from './lib/render.mjs';

// dclint does not export the file, so it is read from the package directory.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(readFileSync(path.join(HERE, 'node_modules/dclint/schemas/compose.schema.json'), 'utf8'));
const file = process.argv[2] ?? path.join(ROOT, 'docker-compose.yml');
// merge: true resolves the `<<: *app` anchors the way docker compose does.
const compose = parse(readFileSync(file, 'utf8'), { merge: true });

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const errors = [];
// The schema is draft-07 (Ajv's default); its $schema URL uses https, which Ajv does not map.
delete schema.$schema;
if (!ajv.validate(schema, compose)) errors.push(...ajv.errors.map((e) => `schema: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));

const s = compose.services ?? {};
const need = (cond, msg) => { if (!cond) errors.push(msg); };
for (const name of ['postgres', 'rabbitmq', 'migrate', 'api', 'worker', 'jaeger', 'prometheus', 'grafana']) need(s[name], `service ${name} missing`);
need(s.worker && !s.worker.container_name && !s.worker.ports, 'worker must be scalable: no container_name, no host ports');
for (const svc of ['api', 'worker']) {
  need(s[svc]?.depends_on?.migrate?.condition === 'service_completed_successfully', `${svc} waits for migrate (service_completed_successfully)`);
}
for (const [name, svc] of Object.entries(s)) {
  for (const script of (svc.command ?? []).filter((a) => /^(\.\/)?dist\//.test(String(a)))) {
    need(existsSync(path.join(ROOT, script)), `${name}: command ${script} is not in the build output`);
  }
}
need(s.migrate?.depends_on?.postgres?.condition === 'service_healthy', 'migrate waits for a healthy postgres');
for (const svc of ['postgres', 'rabbitmq']) need(s[svc]?.healthcheck?.test, `${svc} has a healthcheck`);
need(s.grafana?.profiles?.includes('grafana'), 'grafana is in an optional profile');
need((s.api?.ports ?? []).some((p) => String(p).endsWith(':8000')), 'api published on 8000');
// Every bind-mounted file exists in the repository, and every ${VAR} has a default (no .env needed).
for (const [name, svc] of Object.entries(s)) {
  for (const v of svc.volumes ?? []) {
    const src = String(typeof v === 'string' ? v.split(':')[0] : v.source);
    if (src.startsWith('./')) need(existsSync(path.join(path.dirname(file), src)), `${name}: mounted path ${src} does not exist`);
  }
}
const raw = readFileSync(file, 'utf8');
for (const m of raw.matchAll(/\$\{([A-Z0-9_]+)(:?-[^}]*)?\}/g)) need(m[2], `\${${m[1]}} has no default: compose must work without .env`);
const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
for (const m of raw.matchAll(/\$\{([A-Z0-9_]+):-/g)) need(new RegExp(`^${m[1]}=`, 'm').test(example), `${m[1]} is not documented in .env.example`);

if (errors.length) {
  console.error(errors.map((e) => `  ✗ ${e}`).join('\n'));
  process.exit(1);
}
console.log(`  ${path.basename(file)}: valid against the Compose Specification; ${Object.keys(s).length} services`);
