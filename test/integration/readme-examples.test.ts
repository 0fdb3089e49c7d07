/**
 * The README's curl examples of waits, batches, webhooks, the contract and delayed tasks (the blocks after
 * each `readme-examples` marker) run against a real API and worker, each answer a 2xx whose body
 * validates against the schema /openapi.json documents for that operation and status.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/infra';
import { schemaValidator } from '../support/openapi-schemas';
import { startStack, type Stack } from '../support/stack';

const README = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

/** The curl commands of the fenced block after each marker (continuation lines joined, comments dropped). */
function exampleCommands(): string[] {
  const blocks: string[] = [];
  for (let start = README.indexOf('<!-- readme-examples:'); start >= 0; start = README.indexOf('<!-- readme-examples:', start + 1)) {
    const open = README.indexOf('```bash\n', start);
    blocks.push(README.slice(open + 8, README.indexOf('\n```', open)));
  }
  assert.ok(blocks.length >= 2, 'README has the readme-examples markers');
  return blocks
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('curl '));
}

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: Record<string, unknown>;
}

describe('README examples', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      SIMULATE_MIN_MS: '50',
      SIMULATE_MAX_MS: '100',
      WEBHOOK_SECRET: `whsec_${Buffer.from('readme-example-secret-0123456789').toString('base64')}`,
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('runs every curl example, each answered 2xx with a body that matches the OpenAPI document', async () => {
    const commands = exampleCommands();
    assert.ok(commands.length >= 7, `only ${commands.length} examples found`);
    const doc = (await (await fetch(`${s.base}/openapi.json`)).json()) as Doc;
    const compile = schemaValidator(doc.components);
    const host = new URL(s.base).host;
    const vars: Record<string, string> = {};
    for (const example of commands) {
      if (example.includes('<delivery_id>')) {
        // The delivery of the callback example's task (to a host that does not resolve here), once it ran.
        vars.delivery_id = await waitFor('a webhook delivery', async () => {
          const r = await s.t.db.raw<{ rows: { id: string }[] }>(`SELECT id FROM webhook_deliveries LIMIT 1`);
          return r.rows[0]?.id;
        });
      }
      const command = example.replace(/localhost:8000/g, host).replace(/<(\w+)>/g, (_, name: string) => vars[name] ?? assert.fail(`no value for <${name}>`));
      const { stdout } = await promisify(execFile)('sh', ['-c', `${command} -w '\\n%{http_code}'`]);
      const cut = stdout.lastIndexOf('\n');
      const status = stdout.slice(cut + 1);
      const body = JSON.parse(stdout.slice(0, cut)) as Record<string, unknown>;
      assert.match(status, /^2\d\d$/, `${example}: ${status} ${stdout.slice(0, 300)}`);
      if (typeof body.task_id === 'string' && vars.task_id === undefined) vars.task_id = body.task_id;

      const method = /-X (\w+)/.exec(example)?.[1]?.toLowerCase() ?? 'get';
      const urlPath = new URL(/'?(?:http:\/\/)?localhost:8000([^' ]*)'?/.exec(example)![1]!, 'http://x').pathname;
      const [template, ops] = Object.entries(doc.paths).find(([p]) => new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(urlPath)) ?? [];
      assert.ok(template && ops?.[method], `${method.toUpperCase()} ${urlPath} is in the OpenAPI document`);
      const schema = ops[method].responses[status]?.content?.['application/json']?.schema;
      assert.ok(schema, `${method.toUpperCase()} ${template} documents a ${status} JSON answer`);
      const validate = compile(schema);
      assert.ok(validate(body), `${example}: ${JSON.stringify(validate.errors)}`);
    }
    assert.ok(vars.task_id && vars.delivery_id);
  });
});
