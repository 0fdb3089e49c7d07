// Render tests of autoscaling (issue 13): the scaling signal per group (queue depth + the work that
// exists in PostgreSQL), drain and grace derived from the group's longest task, scale-down
// behaviour, fallback, and the combinations the chart refuses.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BASE_SETS, ROOT, named, ofKind, render, renderError } from './lib/render.mjs';

const require = createRequire(import.meta.url);
/** The app's own definition of the scaling signal (built by `npm run build` before this runs). */
const { scalingWorkQuery } = require(path.join(ROOT, 'dist/services/core/tasks/scaling-work.js'));

const FULL = 'rel-tasker';
const base = (extra = {}, json = {}) => render({ sets: { ...BASE_SETS, ...extra }, json });
const worker = (docs, group) => named(docs, 'Deployment', `${FULL}-worker-${group}`);
const envOf = (dep) => Object.fromEntries(dep.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));

describe('scale-down never cuts a task', () => {
  test('a group whose longest task runs 60 s drains at least 60 s, and its grace period outlasts the drain', () => {
    const docs = base({}, { workerGroups: { simulate: { taskTypes: ['simulate'], maxTaskSeconds: 60 } } });
    const dep = worker(docs, 'simulate');
    const drain = Number(envOf(dep).DRAIN_TIMEOUT_MS) / 1000;
    assert.ok(drain >= 60, `drain ${drain} s >= the 60 s task`);
    assert.ok(dep.spec.template.spec.terminationGracePeriodSeconds > drain, 'grace > drain');
  });

  test('per group: an hour-long group gets an hour of grace, a short group keeps a short one', () => {
    const docs = base({}, {
      // `report` and `export` are a derived image's types (extensionTaskTypes), each with its own queue.
      extensionTaskTypes: [{ name: 'report', queue: 'report' }, { name: 'export', queue: 'export' }],
      workerGroups: { simulate: { taskTypes: ['simulate'], maxTaskSeconds: 10 }, long: { taskTypes: ['report'], maxTaskSeconds: 3600 } },
    });
    assert.equal(envOf(worker(docs, 'long')).DRAIN_TIMEOUT_MS, '3605000');
    assert.equal(worker(docs, 'long').spec.template.spec.terminationGracePeriodSeconds, 3610);
    assert.equal(envOf(worker(docs, 'simulate')).DRAIN_TIMEOUT_MS, '15000');
    assert.equal(worker(docs, 'simulate').spec.template.spec.terminationGracePeriodSeconds, 20);
  });

  test('the default group covers simulate (60 s timeout)', () => {
    const dep = worker(base(), 'simulate');
    assert.ok(Number(envOf(dep).DRAIN_TIMEOUT_MS) >= 60_000);
  });

  test('an explicit drain shorter than the longest task is refused', () => {
    const err = renderError({ sets: BASE_SETS, json: { workerGroups: { g: { taskTypes: ['simulate'], maxTaskSeconds: 120, drainTimeoutSeconds: 30 } } } });
    assert.match(err, /workerGroups\.g: drainTimeoutSeconds \(30\) is shorter than maxTaskSeconds \(120\)/);
  });
});

describe('the scaling signal counts the work that exists', () => {
  const groups = {
    extensionTaskTypes: [{ name: 'report', queue: 'report' }, { name: 'export', queue: 'export' }],
    workerGroups: { simulate: { taskTypes: ['simulate'], concurrency: 4 }, reports: { taskTypes: ['report', 'export'], concurrency: 2 } },
  };

  test('keda: each group scales on its PostgreSQL work (the app\'s own query) per concurrency, and on its queues', () => {
    const docs = base({}, groups);
    for (const [group, types, concurrency] of [['simulate', ['simulate'], '4'], ['reports', ['report', 'export'], '2']]) {
      const so = named(docs, 'ScaledObject', `${FULL}-worker-${group}`);
      const pg = so.spec.triggers.find((t) => t.type === 'postgresql');
      assert.equal(pg.metadata.query, scalingWorkQuery(types), `${group}: the chart's query is the app's`);
      assert.equal(pg.metadata.targetQueryValue, concurrency, 'desired replicas = work / concurrency');
      assert.equal(pg.metadata.activationTargetQueryValue, '0', 'any work wakes a group at zero');
      const ta = named(docs, 'TriggerAuthentication', pg.authenticationRef.name);
      const ref = ta.spec.secretTargetRef[0];
      assert.equal(ref.parameter, 'connection');
      assert.equal(named(docs, 'Secret', ref.name).stringData[ref.key], BASE_SETS['credentials.databaseUrl'], 'default: the app\'s DATABASE_URL');
      assert.equal(so.spec.triggers.filter((t) => t.type === 'rabbitmq').length, types.length, 'queue depth stays in the signal');
    }
  });

  test('keda: the trigger reads a read-only connection from its own Secret when given', () => {
    const docs = base({}, { autoscaling: { keda: { postgresql: { connectionSecret: { name: 'keda-pg-ro', key: 'uri' } } } } });
    assert.deepEqual(named(docs, 'TriggerAuthentication', `${FULL}-postgresql`).spec.secretTargetRef, [{ parameter: 'connection', name: 'keda-pg-ro', key: 'uri' }]);
  });

  test('keda: postgresql.enabled=false renders queue depth only and no postgresql TriggerAuthentication', () => {
    const docs = base({ 'autoscaling.keda.postgresql.enabled': 'false' });
    assert.deepEqual(ofKind(docs, 'ScaledObject')[0].spec.triggers.map((t) => t.type), ['rabbitmq']);
    assert.equal(named(docs, 'TriggerAuthentication', `${FULL}-postgresql`), undefined);
  });

  test('keda: an explicit target per replica overrides concurrency', () => {
    const docs = base({}, { workerGroups: { simulate: { taskTypes: ['simulate'], autoscaling: { targetWorkPerReplica: 12, activationWork: 3 } } } });
    const pg = ofKind(docs, 'ScaledObject')[0].spec.triggers.find((t) => t.type === 'postgresql');
    assert.deepEqual([pg.metadata.targetQueryValue, pg.metadata.activationTargetQueryValue], ['12', '3']);
  });

  test('hpa: one External metric per group over the API gauge of its queues, with its adapter rule and scrape', () => {
    const docs = base({ 'autoscaling.mode': 'hpa' }, groups);
    const h = named(docs, 'HorizontalPodAutoscaler', `${FULL}-worker-reports`);
    assert.equal(h.spec.metrics.length, 1);
    const m = h.spec.metrics[0].external;
    assert.equal(m.metric.name, 'tasker_scaling_work_tasks');
    assert.deepEqual(m.metric.selector.matchExpressions, [{ key: 'queue', operator: 'In', values: ['tasker.q.report', 'tasker.q.export'] }]);
    assert.deepEqual(m.target, { type: 'AverageValue', averageValue: '2' });
    const rules = named(docs, 'ConfigMap', `${FULL}-prometheus-adapter-rules`).data['rules.yaml'];
    assert.match(rules, /namespaced: false/, 'matches regardless of namespace');
    assert.match(rules, /seriesQuery: 'tasker_scaling_work_tasks\{queue!=""\}'/);
    assert.match(rules, /max by \(queue\)/, 'one count however many API replicas export it');
    const sm = named(docs, 'ServiceMonitor', `${FULL}-scaling`);
    assert.equal(sm.spec.endpoints[0].path, '/metrics');
    assert.equal(sm.spec.endpoints[0].metricRelabelings[0].regex, 'tasker_scaling_work_tasks');
  });

  test('keda mode renders no adapter rule or scaling ServiceMonitor', () => {
    const docs = base();
    assert.equal(named(docs, 'ConfigMap', `${FULL}-prometheus-adapter-rules`), undefined);
    assert.equal(named(docs, 'ServiceMonitor', `${FULL}-scaling`), undefined);
  });
});

describe('scale-down behaviour and fallback', () => {
  test('keda: advanced HPA behaviour (stabilisation, pods per minute) and fallback from values', () => {
    const docs = base({}, {
      workerGroups: { simulate: { taskTypes: ['simulate'], autoscaling: { scaleDownStabilizationSeconds: 600, scaleDownPodsPerMinute: 1 } } },
      autoscaling: { keda: { fallback: { failureThreshold: 5, replicas: 2 } } },
    });
    const so = ofKind(docs, 'ScaledObject')[0];
    const down = so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    assert.equal(down.stabilizationWindowSeconds, 600);
    assert.deepEqual(down.policies, [{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    assert.deepEqual(so.spec.fallback, { failureThreshold: 5, replicas: 2 });
  });

  test('keda: failureThreshold 0 renders no fallback', () => {
    assert.equal(ofKind(base({ 'autoscaling.keda.fallback.failureThreshold': '0' }), 'ScaledObject')[0].spec.fallback, undefined);
  });

  test('hpa: the same behaviour on the HPA', () => {
    const h = ofKind(base({ 'autoscaling.mode': 'hpa' }), 'HorizontalPodAutoscaler')[0];
    assert.equal(h.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
    assert.equal(h.spec.behavior.scaleUp.stabilizationWindowSeconds, 0);
  });
});

describe('refused combinations and one vhost', () => {
  const shared = { workerGroups: { a: { taskTypes: ['simulate'] }, b: { taskTypes: ['simulate'] } } };
  for (const mode of ['keda', 'hpa']) {
    test(`${mode}: two groups on one queue are refused with the queue named`, () => {
      assert.match(renderError({ sets: { ...BASE_SETS, 'autoscaling.mode': mode }, json: shared }), /workerGroups\.a and workerGroups\.b both consume queue tasker\.q\.simulate/);
    });
  }

  test('mode none: groups may share a queue (fixed replicas, nothing scales on it)', () => {
    assert.ok(render({ sets: { ...BASE_SETS, 'autoscaling.mode': 'none' }, json: shared }).length > 0);
  });

  test('the vhost comes from the RabbitMQ URL', () => {
    const docs = base({ 'credentials.rabbitmqUrl': 'amqp://u:p@mq:5672/prod' });
    assert.equal(ofKind(docs, 'ScaledObject')[0].spec.triggers.find((t) => t.type === 'rabbitmq').metadata.vhostName, 'prod');
    assert.equal(ofKind(base(), 'ScaledObject')[0].spec.triggers.find((t) => t.type === 'rabbitmq').metadata.vhostName, '/');
  });

  test('an autoscaling.keda.vhost contradicting the URL is refused; with an existingSecret it is the one place', () => {
    assert.match(renderError({ sets: { ...BASE_SETS, 'autoscaling.keda.vhost': 'other' } }), /autoscaling\.keda\.vhost \("other"\) differs from the vhost of the RabbitMQ URL \("\/"\)/);
    const docs = render({ sets: { 'credentials.existingSecret': 'mine', 'autoscaling.keda.vhost': 'prod' } });
    assert.equal(ofKind(docs, 'ScaledObject')[0].spec.triggers.find((t) => t.type === 'rabbitmq').metadata.vhostName, 'prod');
  });
});

test('with the operator-managed PostgreSQL, the postgresql trigger reads its generated Secret', () => {
  const docs = render({ files: [path.join(ROOT, 'charts/tasker/ci/operators-values.yaml')] });
  assert.deepEqual(named(docs, 'TriggerAuthentication', `${FULL}-postgresql`).spec.secretTargetRef, [{ parameter: 'connection', name: `${FULL}-pg-app`, key: 'uri' }]);
});
