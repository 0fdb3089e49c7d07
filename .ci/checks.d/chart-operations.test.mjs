// Render tests for what an operator runs into past the render (issue 14): each knob they expect,
// data that outlives `helm uninstall`, the unattended first key, NetworkPolicies that admit the
// scraper and the API's other destinations, task types the image registers, and the dev values
// Tilt uses. One test per knob, including "unset renders nothing".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { BASE_SETS, CHART, ROOT, named, ofKind, render, renderError } from './lib/render.mjs';

const require = createRequire(import.meta.url);
const FULL = 'rel-tasker';
const base = (sets = {}, json = {}) => render({ sets: { ...BASE_SETS, ...sets }, json });
const byComponent = (docs, c, g) =>
  ofKind(docs, 'Deployment').find((d) => d.metadata.labels['app.kubernetes.io/component'] === c && (!g || d.metadata.labels['tasker.dev/worker-group'] === g));
const apiDep = (docs) => byComponent(docs, 'api');
const workerDep = (docs, g = 'simulate') => byComponent(docs, 'worker', g);
const job = (docs) => ofKind(docs, 'Job')[0];
const podOf = (d) => d.spec.template.spec;
const envOf = (c) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
const PROD = path.join(ROOT, 'k8s/production/tasker-values.yaml');
const DEV = path.join(ROOT, 'k8s/dev/tasker-values.yaml');

describe('operator knobs: API, every worker group, the migration Job', () => {
  const CA = { name: 'db-ca', secret: { secretName: 'db-ca' } };
  const MOUNT = { name: 'db-ca', mountPath: '/etc/tasker-ca', readOnly: true };
  const ENV = { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/tasker-ca/ca.crt' };
  const FROM = { secretRef: { name: 'tasker-extra' } };
  const INIT = { name: 'wait', image: 'busybox:1.37', command: ['true'] };
  const knobs = (prefix) => ({
    [`${prefix}.extraEnv`]: [ENV],
    [`${prefix}.extraEnvFrom`]: [FROM],
    [`${prefix}.extraVolumes`]: [CA],
    [`${prefix}.extraVolumeMounts`]: [MOUNT],
    [`${prefix}.initContainers`]: [INIT],
    [`${prefix}.priorityClassName`]: 'tasker-high',
  });
  const targets = [
    ['api', 'api', apiDep],
    ['worker (defaults)', 'worker', workerDep],
    ['migrations', 'migrations', job],
  ];
  for (const [label, prefix, pick] of targets) {
    test(`${label}: extraEnv, extraEnvFrom, extraVolumes, extraVolumeMounts, initContainers, priorityClassName`, () => {
      const spec = podOf(pick(base({}, knobs(prefix))));
      const c = spec.containers[0];
      assert.deepEqual(envOf(c).NODE_EXTRA_CA_CERTS, ENV, 'extraEnv appended');
      assert.ok(c.envFrom?.some((e) => e.secretRef?.name === 'tasker-extra'), 'extraEnvFrom appended');
      assert.deepEqual(spec.volumes.find((v) => v.name === 'db-ca'), CA, 'extraVolumes appended');
      assert.ok(spec.volumes.some((v) => v.name === 'tmp'), 'the /tmp volume stays');
      assert.deepEqual(c.volumeMounts.find((m) => m.name === 'db-ca'), MOUNT, 'extraVolumeMounts appended');
      assert.equal(spec.priorityClassName, 'tasker-high');
      assert.equal(spec.initContainers[0].name, 'wait');
      assert.equal(spec.initContainers[0].securityContext.readOnlyRootFilesystem, true, 'init containers are hardened by default');
      assert.deepEqual(spec.initContainers[0].securityContext.capabilities.drop, ['ALL']);
    });
    test(`${label}: unset knobs render nothing extra`, () => {
      const spec = podOf(pick(base()));
      const c = spec.containers[0];
      assert.equal(spec.priorityClassName, undefined);
      assert.equal(spec.initContainers, undefined);
      assert.deepEqual(spec.volumes.map((v) => v.name), ['tmp']);
      assert.deepEqual(c.volumeMounts.map((m) => m.name), ['tmp']);
      assert.equal((c.env ?? []).some((e) => e.name === 'NODE_EXTRA_CA_CERTS'), false);
    });
  }

  test('an init container bringing its own securityContext keeps it', () => {
    const own = { runAsNonRoot: true, readOnlyRootFilesystem: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
    const spec = podOf(apiDep(base({}, { 'api.initContainers': [{ ...INIT, securityContext: own }] })));
    assert.deepEqual(spec.initContainers[0].securityContext, own);
  });

  test('a worker group overrides the worker defaults', () => {
    const docs = base({}, { 'worker.priorityClassName': 'low', 'workerGroups.simulate.priorityClassName': 'high', 'workerGroups.simulate.extraEnv': [ENV] });
    assert.equal(podOf(workerDep(docs)).priorityClassName, 'high');
    assert.deepEqual(envOf(podOf(workerDep(docs)).containers[0]).NODE_EXTRA_CA_CERTS, ENV);
  });

  test('topologySpreadConstraints replace the generated constraint; unset keeps it', () => {
    const tsc = [{ maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { a: 'b' } } }];
    const docs = base({}, { 'api.topologySpreadConstraints': tsc, 'worker.topologySpreadConstraints': tsc });
    assert.deepEqual(podOf(apiDep(docs)).topologySpreadConstraints, tsc);
    assert.deepEqual(podOf(workerDep(docs)).topologySpreadConstraints, tsc);
    assert.equal(podOf(apiDep(base())).topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
  });

  test('malformed knobs fail the schema', () => {
    assert.match(renderError({ sets: BASE_SETS, json: { 'api.extraEnv': [{ value: 'x' }] } }), /name/);
    assert.match(renderError({ sets: BASE_SETS, json: { 'api.extraVolumeMounts': [{ name: 'x' }] } }), /mountPath/);
    assert.match(renderError({ sets: BASE_SETS, json: { 'worker.initContainers': [{ name: 'x' }] } }), /image/);
  });

  test('checksum/config and checksum/secret roll the API and workers when settings or credentials change', () => {
    const sums = (docs) => [apiDep(docs), workerDep(docs)].map((d) => d.spec.template.metadata.annotations);
    const [a0, w0] = sums(base());
    const [a1, w1] = sums(base({ 'credentials.rabbitmqUrl': 'amqp://u:rotated@mq.example.internal:5672/' }));
    assert.notEqual(a0['checksum/secret'], a1['checksum/secret'], 'API rolls on a credential change');
    assert.notEqual(w0['checksum/secret'], w1['checksum/secret'], 'workers roll on a credential change');
    assert.equal(a0['checksum/config'], a1['checksum/config']);
    const [a2, w2] = sums(base({ 'config.LOG_LEVEL': 'debug' }));
    assert.notEqual(a0['checksum/config'], a2['checksum/config']);
    assert.notEqual(w0['checksum/config'], w2['checksum/config']);
  });
});

describe('data outlives helm uninstall', () => {
  const ops = { 'rabbitmqCluster.enabled': 'true', 'postgresCluster.enabled': 'true', 'migrations.hook': 'false' };
  test('CloudNativePG Cluster and RabbitmqCluster carry helm.sh/resource-policy: keep by default', () => {
    const docs = base(ops);
    for (const kind of ['Cluster', 'RabbitmqCluster']) {
      assert.equal(ofKind(docs, kind)[0].metadata.annotations?.['helm.sh/resource-policy'], 'keep', kind);
    }
  });
  test('keepOnUninstall=false lets helm delete them', () => {
    const docs = base({ ...ops, 'rabbitmqCluster.keepOnUninstall': 'false', 'postgresCluster.keepOnUninstall': 'false' });
    for (const kind of ['Cluster', 'RabbitmqCluster']) assert.equal(ofKind(docs, kind)[0].metadata.annotations?.['helm.sh/resource-policy'], undefined, kind);
  });
});

describe('the unattended first key (apiKeySeed)', () => {
  test('the migration Job gets API_KEY_SEED from the Secret, with client and admin', () => {
    const env = envOf(job(base({ 'apiKeySeed.existingSecret': 'tasker-api-key', 'apiKeySeed.client': 'ops', 'apiKeySeed.admin': 'true' })).spec.template.spec.containers[0]);
    assert.deepEqual(env.API_KEY_SEED.valueFrom.secretKeyRef, { name: 'tasker-api-key', key: 'api-key' });
    assert.equal(env.API_KEY_SEED_CLIENT.value, 'ops');
    assert.equal(env.API_KEY_SEED_ADMIN.value, 'true');
  });
  test('the helm test pod uses the seeded key unless tests.apiKeySecret names another', () => {
    const key = (sets) => envOf(ofKind(base(sets), 'Pod')[0].spec.containers[0]).TASKER_API_KEY?.valueFrom.secretKeyRef;
    assert.deepEqual(key({ 'apiKeySeed.existingSecret': 'seed' }), { name: 'seed', key: 'api-key' });
    assert.deepEqual(key({ 'apiKeySeed.existingSecret': 'seed', 'tests.apiKeySecret.name': 'other' }), { name: 'other', key: 'api-key' });
  });
  test('unset: no seed env on the Job', () => {
    assert.equal(envOf(job(base()).spec.template.spec.containers[0]).API_KEY_SEED, undefined);
  });
  test('NOTES: every curl carries the Authorization header and says where the key comes from', () => {
    const notes = (sets, json = {}) => notesOf({ ...BASE_SETS, ...sets }, json);
    for (const text of [notes({ 'apiKeySeed.existingSecret': 'tasker-api-key' }), notes({ 'api.ingress.enabled': 'true' }, { 'api.ingress.hosts': [{ host: 'a.example.com' }] })]) {
      const curls = text.split('\n').filter((l) => /^\s*curl /.test(l));
      assert.ok(curls.length >= 2);
      for (const l of curls) assert.match(l, /-H "Authorization: Bearer \$TASKER_API_KEY"/, l);
    }
    assert.match(notes({ 'apiKeySeed.existingSecret': 'tasker-api-key' }), /get secret tasker-api-key -o jsonpath='\{\.data\.api-key\}'/);
  });
});

/** NOTES.txt as helm renders it: `helm template` does not print NOTES, `helm install --dry-run=client` does, offline. */
function notesOf(sets, json) {
  const a = ['install', 'rel', CHART, '-n', 'tasker-ci', '--dry-run=client'];
  for (const [k, v] of Object.entries(sets)) a.push('--set', `${k}=${v}`);
  for (const [k, v] of Object.entries(json)) a.push('--set-json', `${k}=${JSON.stringify(v)}`);
  const out = execFileSync(process.env.HELM ?? 'helm', a, { encoding: 'utf8' });
  return out.slice(out.indexOf('NOTES:'));
}

describe('NetworkPolicy admits what the app needs', () => {
  const np = (docs, c) => named(docs, 'NetworkPolicy', `${FULL}-${c}`);
  const egressPorts = (p) => p.spec.egress.flatMap((r) => (r.ports ?? []).map((x) => x.port));
  test('monitors on, policies on, no metricsFrom: render fails saying what to set', () => {
    for (const m of ['serviceMonitor', 'podMonitor']) {
      const err = renderError({ sets: { ...BASE_SETS, 'networkPolicy.enabled': 'true', [`metrics.${m}.enabled`]: 'true' } });
      assert.match(err, /networkPolicy\.metricsFrom is empty while metrics\.serviceMonitor\/podMonitor are on/);
    }
  });
  test('with metricsFrom, the API admin port and every worker admin port admit the scraper', () => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const docs = base({ 'networkPolicy.enabled': 'true', 'metrics.serviceMonitor.enabled': 'true', 'metrics.podMonitor.enabled': 'true' }, { 'networkPolicy.metricsFrom': from });
    for (const c of ['api', 'worker']) {
      const rule = np(docs, c).spec.ingress.find((r) => JSON.stringify(r.from) === JSON.stringify(from));
      assert.ok(rule, `${c}: a rule admits the scraper`);
      assert.deepEqual(rule.ports.map((p) => p.port), ['admin']);
    }
    assert.ok(ofKind(docs, 'ServiceMonitor')[0].spec.endpoints.every((e) => e.port === 'admin'), 'the ServiceMonitor scrapes the admitted port');
  });
  test('the shipped production values render and admit the scraper', () => {
    const docs = render({ files: [PROD] });
    assert.ok(np(docs, 'worker').spec.ingress.length > 0, 'worker policy admits the scraper');
    assert.ok(np(docs, 'api').spec.ingress.some((r) => r.ports.some((p) => p.port === 'admin')));
  });
  test('the API may reach the management port (unacked gauge) when it has a management URL; workers not', () => {
    const docs = base({ 'networkPolicy.enabled': 'true' });
    assert.ok(egressPorts(np(docs, 'api')).includes(15672));
    assert.equal(egressPorts(np(docs, 'worker')).includes(15672), false);
    const noMgmt = base({ 'networkPolicy.enabled': 'true', 'autoscaling.mode': 'none', 'credentials.rabbitmqManagementUrl': '' });
    assert.equal(egressPorts(np(noMgmt, 'api')).includes(15672), false);
  });
  test('AUTH_JWT_JWKS_URL opens the JWKS port for the API only; unset opens nothing', () => {
    const docs = base({ 'networkPolicy.enabled': 'true', 'config.AUTH_JWT_JWKS_URL': 'https://idp.example.com/jwks', 'config.AUTH_JWT_ALGORITHMS': 'RS256' });
    assert.ok(egressPorts(np(docs, 'api')).includes(443));
    assert.equal(egressPorts(np(docs, 'worker')).includes(443), false);
    assert.equal(egressPorts(np(base({ 'networkPolicy.enabled': 'true' }), 'api')).includes(443), false);
  });
  test('egress.extra adds rules to the API and worker policies', () => {
    const extra = [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 9000, protocol: 'TCP' }] }];
    const docs = base({ 'networkPolicy.enabled': 'true' }, { 'networkPolicy.egress.extra': extra });
    assert.ok(egressPorts(np(docs, 'api')).includes(9000));
    assert.ok(egressPorts(np(docs, 'worker')).includes(9000));
    assert.equal(egressPorts(np(docs, 'migrate')).includes(9000), false);
  });
});

describe('task types and the image', () => {
  test('files/task-types.yaml lists exactly the types and queue groups the build registers', () => {
    const { PRODUCTION_TASK_TYPES } = require(path.join(ROOT, 'dist/services/core/tasks/task-types.js'));
    const listed = parseYaml(readFileSync(path.join(CHART, 'files/task-types.yaml'), 'utf8'));
    const key = (t) => `${t.name}→${t.queue}`;
    assert.deepEqual(listed.map(key).sort(), PRODUCTION_TASK_TYPES.map(key).sort());
  });
  test('an unknown task type or queue group fails the render instead of crash-looping the worker', () => {
    assert.match(renderError({ sets: BASE_SETS, json: { 'workerGroups.simulate.taskTypes': ['simulte'] } }), /workerGroups\.simulate\.taskTypes: unknown task type "simulte"; the image registers simulate/);
    assert.match(renderError({ sets: BASE_SETS, json: { 'workerGroups.simulate.queues': ['simulte'] } }), /workerGroups\.simulate\.queues: unknown queue group "simulte"/);
  });
  test('extensionTaskTypes admits a derived image\'s types; the autoscaler watches their queue group', () => {
    const docs = base({}, { extensionTaskTypes: [{ name: 'email.send', queue: 'email' }], 'workerGroups.mail': { taskTypes: ['email.send'] } });
    const so = ofKind(docs, 'ScaledObject').find((d) => d.metadata.name === `${FULL}-worker-mail`);
    assert.deepEqual(so.spec.triggers.filter((t) => t.type === 'rabbitmq').map((t) => t.metadata.queueName), ['tasker.q.email']);
    assert.equal(envOf(podOf(workerDep(docs, 'mail')).containers[0]).WORKER_TASK_TYPES.value, 'email.send');
  });
});

describe('migrations past the render', () => {
  test('the Job waits for the database (MIGRATE_DATABASE_WAIT_MS) within its deadline', () => {
    const env = envOf(job(base()).spec.template.spec.containers[0]);
    assert.equal(env.MIGRATE_DATABASE_WAIT_MS.value, '300000');
    assert.match(renderError({ sets: { ...BASE_SETS, 'migrations.databaseWaitSeconds': '600' } }), /databaseWaitSeconds \(600\) must be below migrations\.activeDeadlineSeconds \(600\)/);
  });
  test('docs: every `helm install/upgrade --wait` in hook mode passes a --timeout above the Job deadline', () => {
    const deadline = parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')).migrations.activeDeadlineSeconds;
    const seconds = (t) => Number(/(\d+)m/.exec(t)?.[1] ?? 0) * 60 + Number(/(\d+)s/.exec(t)?.[1] ?? 0);
    for (const f of ['docs/deploy.md', 'charts/tasker/README.md']) {
      const cmds = readFileSync(path.join(ROOT, f), 'utf8').replace(/\\\n\s*/g, ' ').split('\n').filter((l) => /^\s*helm (install|upgrade)\b.*--wait/.test(l));
      assert.ok(cmds.length > 0, `${f} has helm install/upgrade --wait commands`);
      for (const l of cmds) {
        if (/migrations\.hook=false/.test(l)) continue;
        const t = /--timeout[ =](\S+)/.exec(l)?.[1];
        assert.ok(t && seconds(t) > deadline, `${f}: "${l.trim()}" needs --timeout above ${deadline} s (helm's default 5m is below the hook Job's deadline)`);
      }
    }
  });
});

describe('shipped values tell one story', () => {
  test('production: api.replicas is not set while the API HPA is on (minReplicas is the floor)', () => {
    const v = parseYaml(readFileSync(PROD, 'utf8'));
    assert.equal(v.api.autoscaling?.enabled, true);
    assert.equal(v.api.replicas, undefined, 'api.replicas would be ignored with api.autoscaling.enabled');
    assert.ok(v.api.autoscaling.minReplicas >= 2);
  });
  test('dev (Tilt): API and workers run under --watch, the migration Job never does', () => {
    const docs = render({ files: [DEV] });
    assert.equal(apiDep(docs).spec.template.spec.containers[0].args[0], '--watch');
    assert.equal(workerDep(docs).spec.template.spec.containers[0].args[0], '--watch');
    assert.ok(!job(docs).spec.template.spec.containers[0].args.includes('--watch'), 'a Job under node --watch never completes');
    assert.ok(!podOf(apiDep(base())).containers[0].args.includes('--watch'), 'production never watches');
  });
  test('the Dockerfile dev stage ENTRYPOINT does not watch (it is also the Job entry point)', () => {
    const dev = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m).find((s) => / AS dev\b/.test(s.split('\n')[0]));
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dev)[1]);
    assert.ok(!entry.includes('--watch'), `dev ENTRYPOINT ${JSON.stringify(entry)}`);
  });
  test('compose: every long-running app service outlasts its drain (stop_grace_period above 25 s)', () => {
    const compose = parseYaml(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    for (const name of ['api', 'worker']) {
      const g = compose.services[name].stop_grace_period;
      assert.ok(g && Number.parseInt(g, 10) > 25, `${name}: stop_grace_period ${g}`);
    }
  });
  test('chart README: probes are documented on the admin port', () => {
    const readme = readFileSync(path.join(CHART, 'README.md'), 'utf8');
    const bullet = /- \*\*Probes\*\*[\s\S]*?(?=\n- \*\*)/.exec(readme)?.[0] ?? '';
    // The chart renders the API probes on the admin port (api.adminPort, default 8001).
    const probePort = podOf(apiDep(base())).containers[0].readinessProbe.httpGet.port;
    assert.equal(probePort, 'admin');
    assert.match(bullet, /`api\.adminPort`/, `the Probes bullet must name api.adminPort: ${bullet}`);
    assert.doesNotMatch(bullet, /on the API port \(`api\.port`\)/);
  });
});
