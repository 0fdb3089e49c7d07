/**
 * The alert rules pass `promtool check rules` and their unit tests, and a real Prometheus (Debian's
 * package, unpacked by .ci/ensure-prometheus) scrapes the API and a worker: the exposition parses,
 * the series are queryable, every rule evaluates without error against real series, and the
 * no-consumer alert goes pending when a queue has messages and no worker.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createTestEnv, waitFor, type TestEnv } from '../support/infra';
import { freePort, startReady, type ServiceProcess } from '../support/processes';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const RULES = path.join(ROOT, 'charts/tasker/files/alert-rules.yaml');
const RULE_TESTS = path.join(ROOT, 'charts/tasker/files/alert-rules.test.yaml');

interface PromResponse<T> {
  status: string;
  data: T;
}

describe('Prometheus', () => {
  let bin: string;
  let t: TestEnv;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let prom: ChildProcess | null = null;
  let promBase: string;
  let apiBase: string;
  let dir: string;

  before(async () => {
    bin = (await run('bash', [path.join(ROOT, '.ci/ensure-prometheus')])).stdout.trim();
    const [port, adminPort, promPort] = [await freePort(), await freePort(), await freePort()];
    t = await createTestEnv({ PORT: String(port), WORKER_ADMIN_PORT: String(adminPort), QUEUE_METRICS_INTERVAL_MS: '200' });
    api = await startReady('api', t.env, port);
    worker = await startReady('worker', t.env, adminPort);
    apiBase = `http://127.0.0.1:${port}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tasker-prom-'));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${RULES}']`,
        'scrape_configs:',
        `  - job_name: tasker-api`,
        `    static_configs: [{ targets: ['127.0.0.1:${port}'] }]`,
        `  - job_name: tasker-worker`,
        `    static_configs: [{ targets: ['127.0.0.1:${adminPort}'] }]`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      path.join(bin, 'prometheus'),
      [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      { stdio: 'ignore' },
    );
    promBase = `http://127.0.0.1:${promPort}`;
    await waitFor('prometheus ready', async () => (await fetch(`${promBase}/-/ready`).catch(() => null))?.ok, 30_000, 200);
  });
  after(async () => {
    prom?.kill('SIGTERM');
    await Promise.all([api?.stop(), worker?.stop()]);
    await t?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q: string) =>
    ((await (await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as PromResponse<{ result: { metric: Record<string, string>; value: [number, string] }[] }>).data.result;

  it('passes promtool check rules and the rules unit tests', async () => {
    const check = await run(path.join(bin, 'promtool'), ['check', 'rules', RULES]);
    assert.match(check.stdout, /SUCCESS: 6 rules found/);
    const tests = await run(path.join(bin, 'promtool'), ['test', 'rules', RULE_TESTS]);
    assert.match(tests.stdout, /SUCCESS/);
  });

  it('scrapes both processes and queries their series', async () => {
    await waitFor('both targets up', async () => {
      const r = (await (await fetch(`${promBase}/api/v1/targets`)).json()) as PromResponse<{ activeTargets: { health: string; lastError: string }[] }>;
      return r.data.activeTargets.length === 2 && r.data.activeTargets.every((x) => x.health === 'up');
    }, 20_000, 250);
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${apiBase}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payload":{"durationMs":0}}' });
      assert.equal(r.status, 202);
    }
    const done = await waitFor('done counter scraped', async () => {
      const r = await query('sum(tasker_tasks_finished_total{outcome="done",type="simulate"})');
      return r[0] && Number(r[0].value[1]) === 5 ? r : null;
    }, 20_000, 250);
    assert.equal(Number(done[0]!.value[1]), 5);
    // Each target is scraped on its own schedule: wait for the API's next scrape too.
    const submitted = await waitFor('submitted counter scraped', async () => {
      const r = await query('sum(tasker_tasks_submitted_total)');
      return r[0] && Number(r[0].value[1]) === 5 ? r : null;
    }, 20_000, 250);
    assert.equal(Number(submitted[0]!.value[1]), 5);
    const targets = (await (await fetch(`${promBase}/api/v1/targets`)).json()) as PromResponse<{ activeTargets: { scrapePool: string; health: string; lastError: string }[] }>;
    assert.deepEqual(targets.data.activeTargets.map((x) => [x.scrapePool, x.health, x.lastError]).sort(), [['tasker-api', 'up', ''], ['tasker-worker', 'up', '']]);
    const buckets = await query('count(tasker_task_run_seconds_bucket)');
    assert.ok(Number(buckets[0]!.value[1]) > 5, 'histogram buckets are ingested');
  });

  it('evaluates every rule without error, and the no-consumer alert goes pending', async () => {
    await worker.stop();
    for (let i = 0; i < 3; i++) {
      await fetch(`${apiBase}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payload":{"durationMs":0}}' });
    }
    const alert = await waitFor('TaskerQueueHasNoConsumers pending', async () => {
      const r = (await (await fetch(`${promBase}/api/v1/alerts`)).json()) as PromResponse<{ alerts: { labels: Record<string, string>; state: string }[] }>;
      return r.data.alerts.find((a) => a.labels.alertname === 'TaskerQueueHasNoConsumers') ?? null;
    }, 20_000, 250);
    assert.equal(alert.state, 'pending');
    assert.equal(alert.labels.queue, `${t.prefix}.q.simulate`);
    const rules = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as PromResponse<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>;
    const all = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(all.length, 6);
    for (const r of all) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
  });
});
