/**
 * `npm run bench -- --features`: the figures of issue 16 beside their goals — waiters (memory per
 * 1,000, completion → answer p99 at 500 completions/s), batch submit (tasks/s in batches of 100
 * and 1,000 vs half of BullMQ's in-memory addBulk), webhook deliveries. About two minutes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { batchRun } from './batch-submit';
import { line } from './feature-support';
import { createBenchEnv, type BenchEnv } from './infra';
import { killAll } from './processes';
import { waitersRun } from './waiters';
import { webhooksRun } from './webhooks';

/** BullMQ Queue.addBulk, in memory (Redis without persistence), measured on this machine by the lead. */
const BULLMQ_ADD_BULK_PER_SEC = 31_000;

export async function features(say: (s: string) => void): Promise<number> {
  let env: BenchEnv | null = null;
  try {
    env = await createBenchEnv();
    const w = await waitersRun(env);
    const b100 = await batchRun(env, 100);
    const b1000 = await batchRun(env, 1_000);
    const hooks = await webhooksRun(env);
    const half = BULLMQ_ADD_BULK_PER_SEC / 2;
    const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    say('\nissue 16 features (one API process; the machine is shared, see load average)');
    say(line(`waiters registered (of ${f(w.waiters)})`, f(w.registered), f(w.waiters), w.registered >= w.waiters));
    say(line('waiter memory: RSS growth per 1,000 waiters', `${f(w.mbPer1000, 2)} MB`, 'bounded (reported)', null));
    say(line('  of which V8 heap in use per 1,000 waiters', `${f(w.heapMbPer1000, 2)} MB`, '', null));
    say(line(`  RSS before / with ${f(w.waiters)} waiting`, `${f(w.rssBeforeMb)} / ${f(w.rssWaitingMb)} MB`, '', null));
    say(line(`completion → answer at ${f(w.ratePerSec)}/s: p50 / p99 / max`, `${f(w.latencyMs.p50, 1)} / ${f(w.latencyMs.p99, 1)} / ${f(w.latencyMs.max, 1)} ms`, 'p99 ≤ 10 ms', w.latencyMs.p99 <= 10));
    say(line('  answered / completed', `${f(w.answered)} / ${f(w.completions)}`, 'all', w.answered === w.completions));
    for (const b of [b100, b1000]) {
      say(line(`batch submit, ${f(b.batchSize)} per request, ${b.concurrency} concurrent`, `${f(b.tasksPerSec)} tasks/s`, `≥ ${f(half)} (½ BullMQ addBulk)`, b.tasksPerSec >= half && b.durable));
      say(line('  every accepted task durable (row committed)', `${b.durable ? 'yes' : 'NO'} (${f(b.accepted)})`, 'yes', b.durable));
    }
    say(line(`webhooks: ${f(hooks.deliveries)} deliveries after one burst of completions`, `${f(hooks.perSec)} /s`, 'reported', null));
    say(line('  completion → delivery received: p50 / p99', `${f(hooks.latencyMs.p50)} / ${f(hooks.latencyMs.p99)} ms`, 'reported', null));
    const dir = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `features-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify({ waiters: w, batch: [b100, b1000], webhooks: hooks }, null, 2));
    say(`JSON: ${file}`);
    return 0;
  } finally {
    killAll();
    await env?.cleanup().catch(() => undefined);
  }
}
