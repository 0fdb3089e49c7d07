// Render tests: one (or a few) per value knob, including "disabled renders nothing", and the
// contracts between chart and app (env names, probe paths and ports, drain vs. grace period).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  BASE_SETS, CHART, ROOT, named, ofKind, podSpecs, render, renderError, scenarios,
} from './lib/render.mjs';

const require = createRequire(import.meta.url);
/** The app's own list of environment variables (built by `npm run build` before this runs). */
const { CONFIG_KEYS } = require(path.join(ROOT, 'dist/services/core/config/config.js'));
const APP_SCRIPTS = {
  '/app/dist/services/api/main.js': 'api',
  '/app/dist/services/worker/main.js': 'worker',
  '/app/dist/services/migrate/main.js': 'migrate',
};
const FULL = 'rel-tasker';
const base = (extra = {}, json = {}) => render({ sets: { ...BASE_SETS, ...extra }, json });
const allScenarioDocs = scenarios().map((s) => ({ ...s, docs: render({ files: [s.file] }) }));

/** The app containers (API, worker, migrate) of a rendered release. */
function appContainers(docs) {
  const out = [];
  for (const { owner, spec } of podSpecs(docs)) {
    for (const c of spec.containers ?? []) {
      const script = c.args?.at(-1);
      if (script && APP_SCRIPTS[script]) out.push({ owner, spec, c, role: APP_SCRIPTS[script] });
    }
  }
  return out;
}
const envOf = (c) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

describe('every shipped scenario', () => {
  for (const { name, docs } of allScenarioDocs) {
    test(`${name}: every container is hardened, bounded and non-root`, () => {
      for (const { owner, spec } of podSpecs(docs)) {
        assert.equal(spec.securityContext?.runAsNonRoot, true, `${owner.metadata.name}: pod runAsNonRoot`);
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${owner.metadata.name}: pod seccomp`);
        assert.equal(spec.automountServiceAccountToken, false, `${owner.metadata.name}: no SA token`);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const sc = c.securityContext ?? {};
          const where = `${owner.metadata.name}/${c.name}`;
          assert.equal(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: drop ALL`);
          assert.equal(sc.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);
          assert.ok(c.resources?.requests?.memory && c.resources?.limits?.memory, `${where}: memory request and limit`);
        }
      }
    });

    test(`${name}: app containers get a writable /tmp and nothing else`, () => {
      for (const { owner, spec, c } of appContainers(docs)) {
        const mount = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        assert.ok(mount, `${owner.metadata.name}: /tmp mounted`);
        assert.ok(spec.volumes.find((v) => v.name === mount.name)?.emptyDir, `${owner.metadata.name}: /tmp is an emptyDir`);
      }
    });

    test(`${name}: every env var the chart sets is one the app knows (CONFIG_KEYS or OTEL_*)`, () => {
      const known = new Set(CONFIG_KEYS);
      for (const { owner, c } of appContainers(docs)) {
        const env = c.env ?? [];
        // Helper variables are allowed only as inputs of Kubernetes' $(VAR) expansion in a known one.
        const referenced = new Set(env.flatMap((e) => [...String(e.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((m) => m[1])));
        for (const e of env) {
          const ok = known.has(e.name) || e.name.startsWith('OTEL_') || referenced.has(e.name);
          assert.ok(ok, `${owner.metadata.name}: env ${e.name} is not in the app's CONFIG_KEYS`);
        }
        for (const src of c.envFrom ?? []) {
          if (src.secretRef) continue; // an operator's extraEnvFrom Secret: its keys are theirs to choose
          const cm = named(docs, 'ConfigMap', src.configMapRef?.name);
          assert.ok(cm, `${owner.metadata.name}: envFrom ConfigMap ${src.configMapRef?.name} is rendered`);
          for (const k of Object.keys(cm.data ?? {})) {
            assert.ok(known.has(k) || k.startsWith('OTEL_'), `ConfigMap key ${k} is not in CONFIG_KEYS`);
          }
        }
      }
    });

    test(`${name}: probes hit the app's /health and /ready on the port the app listens on`, () => {
      for (const { owner, c, role } of appContainers(docs)) {
        if (role === 'migrate') continue;
        const env = envOf(c);
        // The API serves its probes on API_ADMIN_PORT when that is set (not 0), else on PORT.
        const portName = role === 'worker' ? 'WORKER_ADMIN_PORT' : Number(env.API_ADMIN_PORT?.value ?? 0) > 0 ? 'API_ADMIN_PORT' : 'PORT';
        const port = c.ports.find((p) => p.name === c.readinessProbe.httpGet.port);
        assert.ok(port, `${owner.metadata.name}: probe port is a declared container port`);
        assert.equal(String(port.containerPort), env[portName].value, `${owner.metadata.name}: probe port = ${portName}`);
        assert.equal(c.livenessProbe.httpGet.path, '/health', 'liveness checks no dependencies');
        assert.equal(c.startupProbe.httpGet.path, '/health');
        assert.equal(c.readinessProbe.httpGet.path, '/ready', 'readiness checks database, schema, broker');
      }
    });

    test(`${name}: every entry point loads the OpenTelemetry bootstrap first, and it exists in dist/`, () => {
      for (const { owner, c } of appContainers(docs)) {
        assert.equal(c.command, undefined, `${owner.metadata.name}: the image ENTRYPOINT (node) is kept`);
        assert.deepEqual(c.args.slice(0, 2), ['--import', '/app/dist/services/core/telemetry/bootstrap.js']);
        for (const f of [c.args[1], c.args.at(-1)]) assert.ok(existsSync(path.join(ROOT, f.replace('/app/', ''))), `${f} is built`);
      }
    });

    test(`${name}: the grace period outlasts preStop + the drain budget`, () => {
      for (const { owner, spec, c, role } of appContainers(docs)) {
        if (role === 'migrate') continue;
        const drain = Number(envOf(c).DRAIN_TIMEOUT_MS.value) / 1000;
        const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
        assert.ok(spec.terminationGracePeriodSeconds > drain + preStop, `${owner.metadata.name}: grace > drain + preStop`);
      }
    });

    test(`${name}: selectors (Service, PDB, spread, NetworkPolicy, monitors) match the pods they mean`, () => {
      const pods = podSpecs(docs).filter((p) => p.owner.kind === 'Deployment');
      const matches = (sel) => pods.filter((p) => Object.entries(sel).every(([k, v]) => p.owner.spec.template.metadata.labels[k] === v));
      for (const d of ofKind(docs, 'Deployment')) {
        assert.equal(matches(d.spec.selector.matchLabels).length, 1, `${d.metadata.name}: selector matches only itself`);
        for (const t of d.spec.template.spec.topologySpreadConstraints ?? []) {
          assert.ok(matches(t.labelSelector.matchLabels).includes(pods.find((p) => p.owner === d)));
        }
      }
      for (const k of ['Service', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor', 'PodMonitor']) {
        for (const d of ofKind(docs, k)) {
          const sel = d.spec.selector?.matchLabels ?? d.spec.podSelector?.matchLabels ?? d.spec.selector;
          if (k === 'NetworkPolicy' && sel['app.kubernetes.io/component'] === 'migrate') continue;
          // the broker's PDB selects the RabbitMQ operator's pods (label checked under 'operators')
          if (k === 'PodDisruptionBudget' && d.metadata.labels['app.kubernetes.io/component'] === 'rabbitmq') continue;
          assert.ok(matches(sel).length > 0, `${k} ${d.metadata.name} selects no pod`);
        }
      }
    });
  }
});

describe('autoscaling.mode', () => {
  // `bulk` is a type of a derived image (extensionTaskTypes) with a queue of its own: two groups on one queue are refused.
  const twoGroups = {
    extensionTaskTypes: [{ name: 'bulk', queue: 'bulk' }],
    workerGroups: { simulate: { taskTypes: ['simulate'] }, bulk: { taskTypes: ['bulk'], concurrency: 2 } },
  };

  test('keda: one ScaledObject per worker group, targeting its Deployment and naming its queues', () => {
    const docs = base({ 'config.AMQP_PREFIX': 'acme' }, twoGroups);
    const sos = ofKind(docs, 'ScaledObject');
    assert.equal(sos.length, 2);
    for (const so of sos) {
      const dep = named(docs, 'Deployment', so.spec.scaleTargetRef.name);
      assert.ok(dep, `${so.metadata.name} targets a rendered Deployment`);
      assert.equal(dep.spec.replicas, undefined, 'KEDA owns replicas');
      for (const t of so.spec.triggers.filter((x) => x.type === 'rabbitmq')) {
        assert.equal(t.metadata.queueName, `acme.q.${so.metadata.name.split('-').at(-1)}`);
        assert.equal(t.metadata.protocol, 'http', 'http counts unacknowledged messages too');
        assert.equal(t.metadata.mode, 'QueueLength');
        assert.equal(t.metadata.excludeUnacknowledged, 'false');
        const ta = named(docs, 'TriggerAuthentication', t.authenticationRef.name);
        assert.ok(ta, 'TriggerAuthentication rendered');
        const ref = ta.spec.secretTargetRef[0];
        assert.equal(ref.parameter, 'host');
        assert.equal(named(docs, 'Secret', ref.name).stringData[ref.key], BASE_SETS['credentials.rabbitmqManagementUrl']);
      }
    }
    assert.equal(ofKind(docs, 'HorizontalPodAutoscaler').length, 0);
  });

  test('keda: min/max replicas, thresholds, polling and cooldown come from values', () => {
    const docs = base({}, {
      workerGroups: { simulate: { taskTypes: ['simulate'], autoscaling: { minReplicas: 0, maxReplicas: 7, targetQueueLength: 5, activationQueueLength: 2 } } },
      autoscaling: { mode: 'keda', keda: { pollingInterval: 3, cooldownPeriod: 60 } },
    });
    const so = ofKind(docs, 'ScaledObject')[0];
    assert.deepEqual([so.spec.minReplicaCount, so.spec.maxReplicaCount, so.spec.pollingInterval, so.spec.cooldownPeriod], [0, 7, 3, 60]);
    const mq = so.spec.triggers.find((t) => t.type === 'rabbitmq');
    assert.deepEqual([mq.metadata.value, mq.metadata.activationValue, mq.metadata.vhostName], ['5', '2', '/']);
  });

  test('hpa: an autoscaling/v2 External-metric HPA per group, nothing from KEDA', () => {
    const docs = base({ 'autoscaling.mode': 'hpa' }, twoGroups);
    assert.equal(ofKind(docs, 'ScaledObject').length + ofKind(docs, 'TriggerAuthentication').length, 0);
    const hpas = ofKind(docs, 'HorizontalPodAutoscaler');
    assert.equal(hpas.length, 2);
    for (const h of hpas) {
      assert.equal(h.apiVersion, 'autoscaling/v2');
      assert.ok(named(docs, 'Deployment', h.spec.scaleTargetRef.name));
      const m = h.spec.metrics[0].external;
      assert.equal(m.metric.name, 'tasker_scaling_work_tasks');
      assert.deepEqual(m.metric.selector.matchExpressions[0].values, [`tasker.q.${h.metadata.name.split('-').at(-1)}`]);
    }
  });

  test('hpa does not need the management URL', () => {
    const { 'credentials.rabbitmqManagementUrl': _, ...sets } = BASE_SETS;
    assert.ok(render({ sets: { ...sets, 'autoscaling.mode': 'hpa' } }).length > 0);
  });

  test('none: fixed replicas and no autoscaler at all', () => {
    const docs = base({ 'autoscaling.mode': 'none', 'worker.replicas': '4' });
    for (const k of ['ScaledObject', 'TriggerAuthentication', 'HorizontalPodAutoscaler']) assert.equal(ofKind(docs, k).length, 0, k);
    assert.equal(named(docs, 'Deployment', `${FULL}-worker-simulate`).spec.replicas, 4);
  });

  test('an unknown mode is rejected by the schema', () => {
    assert.match(renderError({ sets: { ...BASE_SETS, 'autoscaling.mode': 'vpa' } }), /autoscaling\.mode|mode/);
  });
});

describe('worker groups', () => {
  test('each group gets its own Deployment with task types, concurrency, prefetch, resources and PDB', () => {
    const docs = base({}, {
      extensionTaskTypes: [{ name: 'heavy', queue: 'heavy' }],
      workerGroups: {
        simulate: { taskTypes: ['simulate'] },
        heavy: { taskTypes: ['heavy'], concurrency: 2, prefetch: 64, drainTimeoutSeconds: 90, resources: { limits: { memory: '2Gi' } } },
        off: { taskTypes: ['simulate'], enabled: false },
      },
    });
    const heavy = named(docs, 'Deployment', `${FULL}-worker-heavy`);
    const c = heavy.spec.template.spec.containers[0];
    const env = envOf(c);
    assert.equal(env.WORKER_TASK_TYPES.value, 'heavy');
    assert.equal(env.WORKER_CONCURRENCY.value, '2');
    assert.equal(env.WORKER_PREFETCH.value, '64');
    assert.equal(env.DRAIN_TIMEOUT_MS.value, '90000');
    assert.equal(c.resources.limits.memory, '2Gi');
    assert.equal(c.resources.requests.memory, '128Mi', 'defaults from `worker` still apply');
    assert.equal(heavy.spec.template.spec.terminationGracePeriodSeconds, 95);
    const simulate = envOf(named(docs, 'Deployment', `${FULL}-worker-simulate`).spec.template.spec.containers[0]);
    assert.equal(simulate.WORKER_CONCURRENCY.value, '8');
    assert.equal(simulate.WORKER_PREFETCH.value, '0', 'default: the app takes 2 × concurrency');
    assert.equal(named(docs, 'Deployment', `${FULL}-worker-off`), undefined, 'disabled group renders nothing');
    assert.equal(ofKind(docs, 'PodDisruptionBudget').length, 3, 'api + two enabled groups');
    assert.equal(ofKind(docs, 'ScaledObject').length, 2);
  });

  test('a group running every type must name its queues', () => {
    assert.match(renderError({ sets: BASE_SETS, json: { workerGroups: { all: { taskTypes: [] } } } }), /workerGroups\.all: set taskTypes, or queues/);
  });

  test('a bad group name or unknown group key is rejected', () => {
    assert.match(renderError({ sets: BASE_SETS, json: { workerGroups: { Bad_Name: { taskTypes: ['simulate'] } } } }), /Bad_Name|additional/i);
    assert.match(renderError({ sets: BASE_SETS, json: { workerGroups: { simulate: { taskTypes: ['simulate'], concurency: 3 } } } }), /concurency|additional/i);
  });
});

describe('migrations', () => {
  test('hook mode: pre-install,pre-upgrade Job that keeps failed logs, with hook-time config only', () => {
    const docs = base();
    const job = named(docs, 'Job', `${FULL}-migrate`);
    const a = job.metadata.annotations;
    assert.equal(a['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.equal(a['helm.sh/hook-delete-policy'], 'before-hook-creation', 'no hook-succeeded/failed: logs stay');
    assert.ok(a['helm.sh/hook-weight'] !== undefined);
    const spec = job.spec.template.spec;
    assert.equal(spec.containers[0].args.at(-1), '/app/dist/services/migrate/main.js');
    // Everything the hook pod references must exist at hook time: a hook of lower weight, or external.
    const refs = [['ServiceAccount', spec.serviceAccountName], ...spec.containers[0].env.filter((e) => e.valueFrom).map((e) => ['Secret', e.valueFrom.secretKeyRef.name])];
    for (const [kind, name] of refs) {
      const d = named(docs, kind, name);
      assert.ok(d, `${kind} ${name} rendered`);
      assert.match(d.metadata.annotations?.['helm.sh/hook'] ?? '', /pre-install/, `${kind} ${name} is itself a pre-install hook`);
      assert.ok(Number(d.metadata.annotations['helm.sh/hook-weight']) < Number(a['helm.sh/hook-weight']), `${kind} ${name} runs first`);
    }
    assert.equal(spec.containers[0].envFrom, undefined, 'the ConfigMap does not exist at pre-install time');
  });

  test('plain mode: an ordinary Job named after the image, no hook annotations', () => {
    const a = base({ 'migrations.hook': 'false', 'image.tag': '1.2.3' });
    const b = base({ 'migrations.hook': 'false', 'image.tag': '1.2.4' });
    const ja = ofKind(a, 'Job')[0];
    assert.equal(ja.metadata.annotations?.['helm.sh/hook'], undefined);
    assert.match(ja.metadata.name, /^rel-tasker-migrate-[0-9a-f]{8}$/);
    assert.notEqual(ja.metadata.name, ofKind(b, 'Job')[0].metadata.name, 'a new image gets a new (immutable) Job');
    // GitOps: a Job that deletes itself while still rendered is re-created (and re-run) by Argo CD / Flux.
    assert.equal(ja.spec.ttlSecondsAfterFinished, undefined, 'no TTL by default');
    assert.equal(ofKind(base({ 'migrations.hook': 'false', 'migrations.ttlSecondsAfterFinished': '3600' }), 'Job')[0].spec.ttlSecondsAfterFinished, 3600);
    assert.equal(named(a, 'Secret', `${FULL}-migrate`), undefined, 'no hook Secret');
  });

  test('disabled renders no Job and no hook resources', () => {
    const docs = base({ 'migrations.enabled': 'false' });
    assert.equal(ofKind(docs, 'Job').length, 0);
    assert.equal(docs.filter((d) => /pre-install/.test(d.metadata.annotations?.['helm.sh/hook'] ?? '')).length, 0);
  });

  test('API and workers never run migrations: only the Job runs the migrate script', () => {
    for (const { c, owner } of appContainers(base())) {
      if (owner.kind !== 'Job') assert.notEqual(c.args.at(-1), '/app/dist/services/migrate/main.js');
      assert.equal(owner.spec.template?.spec.initContainers, undefined, 'no init container that could deadlock --wait');
    }
  });

  test('hook mode with the in-chart PostgreSQL cluster fails with a clear message', () => {
    assert.match(renderError({ sets: { ...BASE_SETS, 'postgresCluster.enabled': 'true' } }), /migrations\.hook=true cannot be combined with postgresCluster\.enabled=true/);
  });
});

describe('credentials', () => {
  test('missing database URL fails with the required message', () => {
    assert.match(renderError({}), /credentials\.databaseUrl is required/);
  });
  test('missing AMQP URL fails with the required message', () => {
    assert.match(renderError({ sets: { 'credentials.databaseUrl': BASE_SETS['credentials.databaseUrl'] } }), /credentials\.rabbitmqUrl is required/);
  });
  test('keda without a management URL fails with the required message', () => {
    const { 'credentials.rabbitmqManagementUrl': _, ...sets } = BASE_SETS;
    assert.match(renderError({ sets }), /credentials\.rabbitmqManagementUrl is required with autoscaling\.mode=keda/);
  });
  test('URLs in values land in the chart Secret and reach the containers through secretKeyRef', () => {
    const docs = base();
    const secret = named(docs, 'Secret', FULL);
    assert.equal(secret.stringData.DATABASE_URL, BASE_SETS['credentials.databaseUrl']);
    for (const { c, role } of appContainers(docs)) {
      assert.ok(envOf(c).DATABASE_URL.valueFrom.secretKeyRef, `${role}: DATABASE_URL from a Secret`);
      if (role !== 'migrate') assert.equal(envOf(c).RABBITMQ_URL.valueFrom.secretKeyRef.name, FULL);
    }
    for (const cm of ofKind(docs, 'ConfigMap')) {
      assert.ok(!Object.values(cm.data ?? {}).some((v) => /:\/\/[^/\s]*@/.test(v)), `${cm.metadata.name}: no credential in a ConfigMap`);
    }
  });
  test('existingSecret: no Secret rendered, every reference points at it with the configured keys', () => {
    const docs = render({ sets: { 'credentials.existingSecret': 'mine', 'credentials.keys.databaseUrl': 'pg' } });
    assert.equal(ofKind(docs, 'Secret').length, 0);
    for (const { c } of appContainers(docs)) assert.deepEqual(envOf(c).DATABASE_URL.valueFrom.secretKeyRef, { name: 'mine', key: 'pg' });
    assert.equal(ofKind(docs, 'TriggerAuthentication')[0].spec.secretTargetRef[0].name, 'mine');
  });
  test('there is no default password anywhere in values.yaml', () => {
    const v = parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
    assert.deepEqual([v.credentials.databaseUrl, v.credentials.rabbitmqUrl, v.credentials.rabbitmqManagementUrl], ['', '', '']);
  });
});

describe('operators', () => {
  const OPERATORS = { 'rabbitmqCluster.enabled': 'true', 'postgresCluster.enabled': 'true', 'migrations.hook': 'false' };
  const docs = render({ sets: OPERATORS });
  test('RabbitmqCluster with 3 replicas and CNPG Cluster with 3 instances', () => {
    assert.equal(ofKind(docs, 'RabbitmqCluster')[0].spec.replicas, 3);
    assert.equal(ofKind(docs, 'Cluster')[0].spec.instances, 3);
  });
  test("the app consumes the operators' generated Secrets", () => {
    for (const { c, role } of appContainers(docs)) {
      assert.deepEqual(envOf(c).DATABASE_URL.valueFrom.secretKeyRef, { name: `${FULL}-pg-app`, key: 'uri' });
      if (role === 'migrate') continue;
      const env = envOf(c);
      assert.equal(env.TASKER_RABBITMQ_PASSWORD.valueFrom.secretKeyRef.name, `${FULL}-rabbitmq-default-user`);
      assert.equal(env.RABBITMQ_URL.value, `amqp://$(TASKER_RABBITMQ_USERNAME):$(TASKER_RABBITMQ_PASSWORD)@${FULL}-rabbitmq.tasker-ci.svc:5672/`);
      // $(VAR) expansion only sees variables defined earlier in the list.
      const names = c.env.map((e) => e.name);
      assert.ok(names.indexOf('TASKER_RABBITMQ_PASSWORD') < names.indexOf('RABBITMQ_URL'));
    }
    const ta = named(docs, 'TriggerAuthentication', `${FULL}-rabbitmq`);
    assert.deepEqual(ta.spec.secretTargetRef.map((r) => r.parameter).sort(), ['password', 'username']);
    assert.equal(ofKind(docs, 'Secret').length, 0, 'no chart Secret needed');
  });
  test('disabled (default) renders no operator resources', () => {
    const d = base();
    assert.equal(ofKind(d, 'RabbitmqCluster').length + ofKind(d, 'Cluster').length, 0);
    assert.equal(named(d, 'PodDisruptionBudget', `${FULL}-rabbitmq`), undefined);
  });
  // A 202 is a commit; with asynchronous replicas a failover can lose it (issue 19).
  test('the CNPG Cluster commits synchronously to a quorum of one standby, with PDBs, by default', () => {
    const spec = ofKind(docs, 'Cluster')[0].spec;
    assert.deepEqual(spec.postgresql.synchronous, { method: 'any', number: 1, dataDurability: 'required' });
    assert.equal(spec.enablePDB, true);
    assert.ok(spec.instances >= 2);
  });
  test('postgresCluster.synchronous.dataDurability=preferred renders the availability trade-off', () => {
    const d = render({ sets: { ...OPERATORS, 'postgresCluster.synchronous.dataDurability': 'preferred' } });
    assert.equal(ofKind(d, 'Cluster')[0].spec.postgresql.synchronous.dataDurability, 'preferred');
  });
  test('impossible replication settings fail rendering', () => {
    const sets = OPERATORS;
    assert.match(renderError({ sets: { ...sets, 'postgresCluster.instances': '1' } }), /instances.*(minimum|2)/is);
    assert.match(renderError({ sets: { ...sets, 'postgresCluster.synchronous.number': '3' } }), /synchronous\.number \(3\) must be below postgresCluster\.instances \(3\)/);
    assert.match(renderError({ sets: { ...sets, 'postgresCluster.synchronous.dataDurability': 'sometimes' } }), /dataDurability/);
  });
  test('the RabbitmqCluster gets a PodDisruptionBudget that keeps a majority of its pods', () => {
    const pdb = named(docs, 'PodDisruptionBudget', `${FULL}-rabbitmq`);
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.ok(pdb.spec.maxUnavailable < ofKind(docs, 'RabbitmqCluster')[0].spec.replicas / 2);
    assert.deepEqual(pdb.spec.selector.matchLabels, { 'app.kubernetes.io/name': `${FULL}-rabbitmq` });
    const off = render({ sets: { ...OPERATORS, 'rabbitmqCluster.pdb.enabled': 'false' } });
    assert.equal(named(off, 'PodDisruptionBudget', `${FULL}-rabbitmq`), undefined);
  });
});

describe('optional features: enabled renders, disabled renders nothing', () => {
  const features = [
    ['api.ingress', { 'api.ingress.enabled': 'true' }, { 'api.ingress.hosts': [{ host: 'tasker.example.com' }] }, 'Ingress'],
    ['api.autoscaling', { 'api.autoscaling.enabled': 'true', 'autoscaling.mode': 'none' }, {}, 'HorizontalPodAutoscaler'],
    ['networkPolicy', { 'networkPolicy.enabled': 'true' }, {}, 'NetworkPolicy'],
    ['metrics.serviceMonitor', { 'metrics.serviceMonitor.enabled': 'true' }, {}, 'ServiceMonitor'],
    ['metrics.podMonitor', { 'metrics.podMonitor.enabled': 'true' }, {}, 'PodMonitor'],
    ['metrics.prometheusRule', { 'metrics.prometheusRule.enabled': 'true' }, {}, 'PrometheusRule'],
    ['tests', {}, {}, 'Pod'],
  ];
  const off = base({ 'tests.enabled': 'false' });
  for (const [knob, sets, json, kind] of features) {
    test(`${knob} → ${kind}`, () => {
      assert.ok(ofKind(base(sets, json), kind).length > 0, `${knob} on renders ${kind}`);
      assert.equal(ofKind(off, kind).length, 0, `${knob} off renders no ${kind}`);
    });
  }
  test('metrics.dashboard → the Grafana dashboard ConfigMap', () => {
    const cm = named(base({ 'metrics.dashboard.enabled': 'true' }), 'ConfigMap', `${FULL}-dashboard`);
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    assert.equal(JSON.parse(cm.data['tasker.json']).uid, 'tasker-overview');
    assert.equal(named(off, 'ConfigMap', `${FULL}-dashboard`), undefined);
  });
  test('otel → OTEL_* env with a per-component service name; disabled sets none', () => {
    const docs = base({ 'otel.enabled': 'true', 'otel.endpoint': 'http://collector:4318' });
    for (const { c, role } of appContainers(docs)) {
      if (role === 'migrate') continue;
      assert.equal(envOf(c).OTEL_EXPORTER_OTLP_ENDPOINT.value, 'http://collector:4318');
      assert.equal(envOf(c).OTEL_SERVICE_NAME.value, `tasker-${role}`);
    }
    for (const { c } of appContainers(off)) assert.ok(!(c.env ?? []).some((e) => e.name.startsWith('OTEL_')));
    assert.match(renderError({ sets: { ...BASE_SETS, 'otel.enabled': 'true' } }), /otel\.endpoint is required/);
  });
  test('pdb switches', () => {
    assert.equal(ofKind(base({ 'api.pdb.enabled': 'false', 'worker.pdb.enabled': 'false' }), 'PodDisruptionBudget').length, 0);
  });
  test('topologySpread switch', () => {
    for (const d of ofKind(base({ 'topologySpread.enabled': 'false' }), 'Deployment')) assert.equal(d.spec.template.spec.topologySpreadConstraints, undefined);
  });
  test('serviceAccount.create=false uses the named account and renders none', () => {
    const docs = base({ 'serviceAccount.create': 'false', 'serviceAccount.name': 'runner' });
    assert.equal(ofKind(docs, 'ServiceAccount').length, 0);
    for (const { spec } of podSpecs(docs).filter((p) => p.owner.kind !== 'Pod')) assert.equal(spec.serviceAccountName, 'runner');
  });
});

describe('API ops port and secret settings', () => {
  test('api.adminPort moves probes and /metrics off the Service port the Ingress uses; 0 keeps them on it', () => {
    const on = base({ 'metrics.serviceMonitor.enabled': true });
    const c = named(on, 'Deployment', `${FULL}-api`).spec.template.spec.containers[0];
    assert.equal(envOf(c).API_ADMIN_PORT.value, '8001');
    assert.equal(c.readinessProbe.httpGet.port, 'admin');
    assert.equal(ofKind(on, 'ServiceMonitor')[0].spec.endpoints[0].port, 'admin');
    const off = base({ 'api.adminPort': 0, 'metrics.serviceMonitor.enabled': true });
    const c0 = named(off, 'Deployment', `${FULL}-api`).spec.template.spec.containers[0];
    assert.equal(c0.readinessProbe.httpGet.port, 'http');
    assert.equal(c0.ports.length, 1);
    assert.equal(ofKind(off, 'ServiceMonitor')[0].spec.endpoints[0].port, 'http');
  });
  test('the management URL and JWT secret reach the API from the Secret (optional keys with existingSecret)', () => {
    const api = (docs) => envOf(named(docs, 'Deployment', `${FULL}-api`).spec.template.spec.containers[0]);
    const own = base({ 'credentials.authJwtSecret': 'x'.repeat(32) });
    assert.deepEqual(api(own).RABBITMQ_MANAGEMENT_URL.valueFrom.secretKeyRef, { name: FULL, key: 'RABBITMQ_MANAGEMENT_URL', optional: false });
    assert.equal(named(own, 'Secret', FULL).stringData.AUTH_JWT_SECRET, 'x'.repeat(32));
    const ext = render({ sets: { 'credentials.existingSecret': 'mine' } });
    assert.equal(api(ext).AUTH_JWT_SECRET.valueFrom.secretKeyRef.optional, true);
    assert.equal(api(base({ 'autoscaling.mode': 'none', 'credentials.rabbitmqManagementUrl': '' })).RABBITMQ_MANAGEMENT_URL, undefined);
    assert.equal(api(base()).AUTH_JWT_SECRET, undefined, 'no JWT secret unless given');
  });
  test('credentials.webhookSecret reaches the API from the Secret (optional key with existingSecret), and the schema refuses a malformed one', () => {
    const api = (docs) => envOf(named(docs, 'Deployment', `${FULL}-api`).spec.template.spec.containers[0]);
    const secret = `whsec_${Buffer.from('chart-webhook-secret-0123456789').toString('base64')}`;
    const own = base({ 'credentials.webhookSecret': secret });
    assert.deepEqual(api(own).WEBHOOK_SECRET.valueFrom.secretKeyRef, { name: FULL, key: 'WEBHOOK_SECRET', optional: false });
    assert.equal(named(own, 'Secret', FULL).stringData.WEBHOOK_SECRET, secret);
    assert.equal(api(render({ sets: { 'credentials.existingSecret': 'mine' } })).WEBHOOK_SECRET.valueFrom.secretKeyRef.optional, true);
    assert.equal(api(base()).WEBHOOK_SECRET, undefined, 'no webhook secret unless given');
    assert.match(renderError({ sets: { ...BASE_SETS, 'credentials.webhookSecret': 'not-a-secret' } }), /webhookSecret/);
  });
  test('tests.apiKeySecret gives the helm test pod its bearer key', () => {
    const pod = ofKind(base({ 'tests.apiKeySecret.name': 'ci-key' }), 'Pod')[0];
    assert.deepEqual(envOf(pod.spec.containers[0]).TASKER_API_KEY.valueFrom.secretKeyRef, { name: 'ci-key', key: 'api-key' });
    assert.equal(envOf(ofKind(base(), 'Pod')[0].spec.containers[0]).TASKER_API_KEY, undefined);
  });
});

describe('wiring', () => {
  test('the helm test pod submits to the API Service on its port', () => {
    const docs = base({ 'api.service.port': '8080' });
    const pod = ofKind(docs, 'Pod')[0];
    assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
    assert.equal(envOf(pod.spec.containers[0]).TASKER_URL.value, `http://${FULL}-api:8080`);
    assert.equal(named(docs, 'Service', `${FULL}-api`).spec.ports[0].port, 8080);
  });
  test('Ingress routes to the API Service port by name', () => {
    const docs = base({ 'api.ingress.enabled': 'true' }, { 'api.ingress.hosts': [{ host: 'a.example.com' }] });
    const backend = ofKind(docs, 'Ingress')[0].spec.rules[0].http.paths[0].backend.service;
    assert.equal(backend.name, `${FULL}-api`);
    assert.ok(named(docs, 'Service', backend.name).spec.ports.some((p) => p.name === backend.port.name));
    assert.match(renderError({ sets: { ...BASE_SETS, 'api.ingress.enabled': 'true' } }), /api\.ingress\.hosts needs at least one host/);
  });
  test('the web console is on the API port but not routed through the Ingress unless api.console.ingress', () => {
    const host = { 'api.ingress.hosts': [{ host: 'a.example.com' }] };
    const paths = (docs) => ofKind(docs, 'Ingress')[0].spec.rules[0].http.paths.map((p) => p.path);
    const served = paths(base({ 'api.ingress.enabled': 'true' }, host));
    assert.ok(served.includes('/tasks') && served.includes('/overview') && served.includes('/openapi.json'), served.join(' '));
    assert.ok(!served.some((p) => p === '/' || p.startsWith('/ui')), `no catch-all, no /ui: ${served.join(' ')}`);
    assert.deepEqual(paths(base({ 'api.ingress.enabled': 'true', 'api.console.ingress': 'true' }, host)), ['/']);
    assert.deepEqual(paths(base({ 'api.ingress.enabled': 'true', 'api.console.enabled': 'false' }, host)), ['/']);
    assert.match(
      renderError({ sets: { ...BASE_SETS, 'api.ingress.enabled': 'true' }, json: { 'api.ingress.hosts': [{ host: 'a.example.com', paths: [{ path: '/' }] }] } }),
      /would route the web console \(\/ui\) through the Ingress/,
    );
    const env = envOf(named(base(), 'Deployment', `${FULL}-api`).spec.template.spec.containers[0]);
    assert.equal(env.CONSOLE_ENABLED.value, 'true');
    assert.equal(env.TRACE_URL_TEMPLATE, undefined);
    const traced = envOf(named(base({ 'api.console.traceUrlTemplate': 'https://j.example.com/trace/{trace_id}' }), 'Deployment', `${FULL}-api`).spec.template.spec.containers[0]);
    assert.equal(traced.TRACE_URL_TEMPLATE.value, 'https://j.example.com/trace/{trace_id}');
  });
  test('monitors scrape /metrics on ports that exist', () => {
    const docs = base({ 'metrics.serviceMonitor.enabled': 'true', 'metrics.podMonitor.enabled': 'true' });
    const sm = ofKind(docs, 'ServiceMonitor')[0];
    assert.ok(named(docs, 'Service', `${FULL}-api`).spec.ports.some((p) => p.name === sm.spec.endpoints[0].port));
    assert.equal(ofKind(docs, 'PodMonitor')[0].spec.podMetricsEndpoints[0].port, 'admin');
  });
  test('the PrometheusRule carries the same rules file docker compose loads', () => {
    const rule = ofKind(base({ 'metrics.prometheusRule.enabled': 'true' }), 'PrometheusRule')[0];
    assert.deepEqual(rule.spec, parseYaml(readFileSync(path.join(CHART, 'files/alert-rules.yaml'), 'utf8')));
    assert.match(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), /charts\/tasker\/files\/alert-rules\.yaml/);
  });
  test('a settings change rolls the pods (config checksum annotation)', () => {
    const sum = (docs) => named(docs, 'Deployment', `${FULL}-api`).spec.template.metadata.annotations['checksum/config'];
    assert.notEqual(sum(base()), sum(base({ 'config.LOG_LEVEL': 'debug' })));
  });
  test('every `config` key the schema accepts is one the app knows', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
    for (const k of Object.keys(schema.properties.config.properties)) assert.ok(CONFIG_KEYS.includes(k), k);
  });
  test('a typo in values fails the schema', () => {
    assert.match(renderError({ sets: { ...BASE_SETS, 'api.replica': '3' } }), /replica/);
    assert.match(renderError({ sets: { ...BASE_SETS, 'config.LOG_LEVL': 'debug' } }), /LOG_LEVL/);
  });
  test('the image reference honours tag and digest', () => {
    const img = (sets) => named(base(sets), 'Deployment', `${FULL}-api`).spec.template.spec.containers[0].image;
    assert.equal(img({}), 'ghcr.io/example/tasker:0.1.0');
    assert.equal(img({ 'image.digest': `sha256:${'a'.repeat(64)}` }), `ghcr.io/example/tasker@sha256:${'a'.repeat(64)}`);
  });
});
