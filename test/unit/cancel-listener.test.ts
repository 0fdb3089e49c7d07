/**
 * The cancel listener's own connection (issue 12, item 11): a failed LISTEN does not leak the
 * client, and a half-open connection (a ping that never answers) is replaced. Fake clients: this is
 * the listener's connection handling, not PostgreSQL's.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createCancelListener, type ListenClient } from '../../services/worker/recovery/cancel-listener';

/** Like pg's Client: end() fails the queries still waiting for an answer. */
class FakeClient extends EventEmitter implements ListenClient {
  ended = false;
  private readonly waiting = new Set<(e: Error) => void>();
  constructor(private readonly answer: (sql: string) => Promise<unknown>) {
    super();
  }
  connect() {
    return Promise.resolve();
  }
  query(sql: string) {
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      this.answer(sql).then(resolve, reject).finally(() => this.waiting.delete(reject));
    });
  }
  end() {
    this.ended = true;
    for (const reject of this.waiting) reject(new Error('Connection terminated'));
    this.emit('end');
    return Promise.resolve();
  }
}

const logger = pino({ level: 'silent' });
const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

describe('cancel listener connection', () => {
  it('ends a client whose LISTEN failed, and connects again', async () => {
    const clients: FakeClient[] = [];
    const l = createCancelListener({
      connect: () => {
        const c = new FakeClient((sql) => (clients.length === 1 && sql.startsWith('LISTEN') ? Promise.reject(new Error('LISTEN failed')) : new Promise(() => undefined)));
        clients.push(c);
        return c;
      },
      onCancel: () => undefined,
      logger,
      pingMs: 60_000,
      retryBaseMs: 1,
    });
    l.start();
    await until('a second client was made', () => clients.length >= 2);
    assert.equal(clients[0]!.ended, true, 'the failed client was ended');
    await l.stop();
  });

  it('replaces a connection whose ping does not answer (half-open)', async () => {
    const clients: FakeClient[] = [];
    const l = createCancelListener({
      connect: () => {
        const c = new FakeClient((sql) => (sql.startsWith('LISTEN') ? Promise.resolve() : new Promise(() => undefined)));
        clients.push(c);
        return c;
      },
      onCancel: () => undefined,
      logger,
      pingMs: 20,
      pingTimeoutMs: 20,
      retryBaseMs: 1,
    });
    l.start();
    await until('the silent connection was replaced', () => clients.length >= 2);
    assert.equal(clients[0]!.ended, true);
    await l.stop();
  });

  it('delivers notifications on the cancel channel', async () => {
    const got: string[] = [];
    let client: FakeClient | undefined;
    const l = createCancelListener({
      connect: () => (client = new FakeClient(() => Promise.resolve())),
      onCancel: (id) => got.push(id),
      logger,
      pingMs: 60_000,
    });
    l.start();
    await until('connected', () => client !== undefined);
    await new Promise((r) => setTimeout(r, 20));
    client!.emit('notification', { channel: 'tasker_cancel', payload: 'abc' });
    client!.emit('notification', { channel: 'other', payload: 'x' });
    assert.deepEqual(got, ['abc']);
    await l.stop();
  });
});
