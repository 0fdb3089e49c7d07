/**
 * Reads and discards what is left of a request body before the response goes out. An answer given
 * before the body was read (401, 400, 413, 429…) would otherwise reach a client that is still
 * sending only by luck: Node closes a `Connection: close` socket right after the response, the
 * kernel resets a socket closed with unread data in it, and the client sees ECONNRESET instead of
 * the JSON error (the fuzz test caught it under load). Bounded in bytes and time: past that, the
 * reset is the lesser evil than reading an endless body.
 */
import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';

export function drainRequest(maxBytes: number, maxMs = 2_000): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      if (!ctx.req.complete && !ctx.req.destroyed) await drain(ctx.req, maxBytes, maxMs);
    }
  };
}

function drain(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    timer.unref();
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
    req.resume();
  });
}
