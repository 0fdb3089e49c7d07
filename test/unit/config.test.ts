import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../services/core/config/config';

describe('config', () => {
  it('has defaults that work against local PostgreSQL and RabbitMQ', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8000);
    assert.match(c.DATABASE_URL, /^postgres:\/\/.*127\.0\.0\.1:5432/);
    assert.equal(c.RABBITMQ_URL.length, 1);
    assert.match(c.RABBITMQ_URL[0]!, /^amqp:\/\/.*127\.0\.0\.1:5672/);
    assert.deepEqual(c.WORKER_TASK_TYPES, []);
    assert.ok(Object.isFrozen(c));
  });

  it('reports every invalid key at once, by name', () => {
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud' });
      assert.fail('expected ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const keys = e.issues.map((i) => i.split(':')[0]).sort();
      assert.deepEqual(keys, ['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'WORKER_CONCURRENCY']);
    }
  });

  it('parses WORKER_TASK_TYPES as a comma-separated list', () => {
    assert.deepEqual(loadConfig({ WORKER_TASK_TYPES: ' simulate, other ,' }).WORKER_TASK_TYPES, ['simulate', 'other']);
  });

  it('rejects impossible combinations', () => {
    assert.throws(() => loadConfig({ LEASE_MS: '5000', HEARTBEAT_MS: '5000' }), /HEARTBEAT_MS/);
    // One slow beat must not lose the lease: at least three beats fit in a lease.
    assert.throws(() => loadConfig({ LEASE_MS: '30000', HEARTBEAT_MS: '29000' }), /HEARTBEAT_MS: at most LEASE_MS \/ 3/);
    assert.doesNotThrow(() => loadConfig({ LEASE_MS: '30000', HEARTBEAT_MS: '10000' }));
    assert.throws(() => loadConfig({ SIMULATE_MIN_MS: '10', SIMULATE_MAX_MS: '5' }), /SIMULATE_MIN_MS/);
  });

  it('parses RABBITMQ_URL as a list of broker addresses, each an amqp(s) URL', () => {
    assert.deepEqual(loadConfig({ RABBITMQ_URL: 'amqp://u:p@a:5672/v, amqps://u:p@b:5671/v' }).RABBITMQ_URL, ['amqp://u:p@a:5672/v', 'amqps://u:p@b:5671/v']);
    assert.throws(() => loadConfig({ RABBITMQ_URL: 'amqp://a:5672,http://b' }), /RABBITMQ_URL/);
    assert.throws(() => loadConfig({ RABBITMQ_URL: ' , ' }), /RABBITMQ_URL/);
  });

  it('does not echo secrets from an invalid URL', () => {
    assert.throws(
      () => loadConfig({ RABBITMQ_URL: 'http://user:s3cret@host' }),
      (e: Error) => e.message.includes('RABBITMQ_URL') && !e.message.includes('s3cret'),
    );
  });

  it('refuses a JWKS URL over plain http, naming the key, and accepts https', () => {
    // Keys fetched over http can be swapped in transit: whoever does that mints valid tokens.
    assert.throws(
      () => loadConfig({ AUTH_JWT_JWKS_URL: 'http://issuer.example/.well-known/jwks.json', AUTH_JWT_ALGORITHMS: 'RS256' }),
      (e: Error) => e instanceof ConfigError && e.issues.some((i) => i.startsWith('AUTH_JWT_JWKS_URL:') && /https/.test(i)),
    );
    const c = loadConfig({ AUTH_JWT_JWKS_URL: 'https://issuer.example/.well-known/jwks.json', AUTH_JWT_ALGORITHMS: 'RS256' });
    assert.equal(c.AUTH_JWT_JWKS_URL, 'https://issuer.example/.well-known/jwks.json');
  });
});
