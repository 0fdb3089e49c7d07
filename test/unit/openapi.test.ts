/**
 * The OpenAPI document (/openapi.json) against the app: every route the app serves is documented
 * and nothing else is; every documented example validates against its schema (JSON Schema 2020-12,
 * ajv); the document passes `redocly lint` (recommended-strict, redocly.yaml).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import type { AppDeps } from '../../services/api/app';
import { appRouters } from '../../services/api/app';
import { openApiDocument } from '../../services/api/routes/openapi';
import { schemaValidator } from '../support/openapi-schemas';

const ROOT = path.resolve(__dirname, '../../..');
const limits = { timeoutCeilingMs: 3_600_000, listMaxLimit: 100, replayMaxBatch: 1_000, batchMaxTasks: 1_000, waitMaxSeconds: 60, maxDelayMs: 86_400_000 };
const doc = openApiDocument(limits) as {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
};

interface Media {
  schema: unknown;
  example?: unknown;
}
interface Operation {
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}

describe('OpenAPI document', () => {
  it('documents every route the app serves, and only those', () => {
    const deps = { serveOps: true, readiness: {}, isDraining: () => false, stalled: () => null, limits: { ...limits, maxBodyBytes: 1, maxJsonDepth: 1, batchMaxBodyBytes: 1 }, openApi: doc };
    const served = appRouters(deps as unknown as AppDeps)
      .flatMap((r) => r.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`)))
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(documented, served);
  });

  it('has examples that validate against their schemas', () => {
    const compile = schemaValidator(doc.components);
    let checked = 0;
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const media = [
          ...Object.values(op.requestBody?.content ?? {}).map((m) => ['request', m] as const),
          ...Object.entries(op.responses).flatMap(([status, r]) => Object.values(r.content ?? {}).map((m) => [status, m] as const)),
        ];
        for (const [where, m] of media) {
          if (m.example === undefined) continue;
          const validate = compile(m.schema);
          assert.ok(validate(m.example), `${method} ${p} ${where}: ${JSON.stringify(validate.errors)}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 20, `only ${checked} examples`);
  });

  it('passes redocly lint (recommended-strict)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tasker-openapi-'));
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    try {
      const r = await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--config', path.join(ROOT, 'redocly.yaml')], {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      }).catch((e: { stdout: string; stderr: string }) => assert.fail(`redocly lint failed:\n${e.stdout}\n${e.stderr}`));
      assert.match(r.stderr + r.stdout, /valid/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
