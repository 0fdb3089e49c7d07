/**
 * Reference point: a bare Koa handler with no I/O, in its own process like the API. It reads the
 * request body (as any POST handler must) and answers 202 with a small JSON body.
 */
import Koa from 'koa';

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET') {
    ctx.body = { status: 'ok' }; // readiness probe of the benchmark
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  ctx.status = 202;
  ctx.body = { task_id: '00000000-0000-4000-8000-000000000000', status: 'pending', bytes: Buffer.concat(chunks).length };
});
const port = Number(process.env.PORT ?? '0');
const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
