// What `tilt up` deploys, read from the Tiltfile (so the checks follow it): the docker_build ref and
// target, the chart values file and --set, rendered with a fresh AMQP prefix and ports moved off
// 8000/8001 (the checks share one network namespace, where the API and worker admin ports would
// collide). The k8s/dev connection Secret keeps its Service host names (postgres, rabbitmq) but
// carries this machine's credentials and a fresh database.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, render } from './render.mjs';
import { freePort } from './local-infra.mjs';

export function tiltContract() {
  const tilt = readFileSync(path.join(ROOT, 'Tiltfile'), 'utf8');
  const build = /docker_build\(\s*'([^']+)'[\s\S]*?target='([^']+)'/.exec(tilt);
  const values = /helm\(\s*'charts\/tasker'[\s\S]*?values=\['([^']+)'\]/.exec(tilt);
  const groups = /worker_groups = settings\.get\('worker_groups', \[([^\]]*)\]\)/.exec(tilt);
  const set = /set=\['([^']+)' % g for g in worker_groups\]/.exec(tilt);
  if (!build || !values || !groups || !set) throw new Error('Tiltfile: docker_build target, helm values, worker_groups or set not found where expected');
  const workerGroups = groups[1].split(',').map((s) => s.trim().replace(/^'|'$/g, '')).filter(Boolean);
  const tiltInfo = { ref: build[1], target: build[2], valuesFile: values[1], sets: workerGroups.map((g) => set[1].replace('%s', g)) };
  if (tiltInfo.target !== 'dev') throw new Error(`Tiltfile builds target ${tiltInfo.target}; the checks expect the Dockerfile's 'dev' stage`);
  return tiltInfo;
}

/** { tilt, docs, external (Secrets by name), apiPort } for a run with `names` from freshNames(). */
export async function renderDev(names, { hostOverride } = {}) {
  const tilt = tiltContract();
  const [apiPort, apiAdminPort, workerAdminPort] = [await freePort(), await freePort(), await freePort()];
  const sets = Object.fromEntries(tilt.sets.map((s) => s.split(/=(.*)/s).slice(0, 2)));
  Object.assign(sets, { 'config.AMQP_PREFIX': names.prefix, 'api.port': apiPort, 'api.adminPort': apiAdminPort, 'worker.adminPort': workerAdminPort });
  const docs = render({ files: [path.join(ROOT, tilt.valuesFile)], sets });
  const devSecrets = parseAllDocuments(readFileSync(path.join(ROOT, 'k8s/dev/connection-secret.yaml'), 'utf8')).map((d) => d.toJS());
  const conn = devSecrets.find((d) => d.kind === 'Secret' && d.metadata.name === 'tasker-dev-connection');
  const local = (url, like) => {
    const u = new URL(url);
    const l = new URL(like);
    u.username = l.username;
    u.password = l.password;
    if (hostOverride) u.hostname = hostOverride;
    if (u.protocol.startsWith('postgres')) u.pathname = `/${names.database}`;
    return u.toString();
  };
  const external = {
    'tasker-dev-connection': {
      DATABASE_URL: local(conn.stringData.DATABASE_URL, names.databaseUrl),
      RABBITMQ_URL: local(conn.stringData.RABBITMQ_URL, names.amqpUrl),
      RABBITMQ_MANAGEMENT_URL: local(conn.stringData.RABBITMQ_MANAGEMENT_URL, names.managementUrl),
    },
  };
  return { tilt, docs, external, apiPort };
}
