/** Which database errors are transient (retry, 503) and which are not (a bug, a bad request): the table, row by row. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDatabaseUnavailable, isTransientDatabaseError } from '../../services/core/db/database';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

const rows: [string, Error, { transient: boolean; unavailable: boolean }][] = [
  ['57014 statement timeout (query_canceled)', withCode('57014', 'canceling statement due to statement timeout'), { transient: true, unavailable: true }],
  ["pg's client-side query timeout", new Error('Query read timeout'), { transient: true, unavailable: true }],
  ['55P03 lock not available', withCode('55P03'), { transient: true, unavailable: true }],
  ['40P01 deadlock', withCode('40P01'), { transient: true, unavailable: true }],
  ['40001 serialization failure', withCode('40001'), { transient: true, unavailable: true }],
  ['57P01 admin shutdown', withCode('57P01'), { transient: true, unavailable: true }],
  ['57P03 cannot connect now', withCode('57P03'), { transient: true, unavailable: true }],
  ['08006 connection failure', withCode('08006'), { transient: true, unavailable: true }],
  ['53300 too many connections', withCode('53300'), { transient: true, unavailable: true }],
  ['25006 read-only transaction (a failover demoted the server)', withCode('25006'), { transient: true, unavailable: true }],
  ['ECONNREFUSED', withCode('ECONNREFUSED'), { transient: true, unavailable: true }],
  ['ECONNRESET', withCode('ECONNRESET'), { transient: true, unavailable: true }],
  ['knex pool acquire timeout', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' }), { transient: true, unavailable: true }],
  ['Connection terminated unexpectedly', new Error('Connection terminated unexpectedly'), { transient: true, unavailable: true }],
  ['23505 unique violation', withCode('23505'), { transient: false, unavailable: false }],
  ['23514 check violation', withCode('23514'), { transient: false, unavailable: false }],
  ['22P02 invalid text representation', withCode('22P02'), { transient: false, unavailable: false }],
  ['42P01 undefined table (schema too old)', withCode('42P01'), { transient: false, unavailable: false }],
  ['42601 syntax error', withCode('42601'), { transient: false, unavailable: false }],
  ['a plain Error', new Error('boom'), { transient: false, unavailable: false }],
];

describe('database error classification', () => {
  for (const [name, e, expected] of rows) {
    it(name, () => {
      assert.equal(isTransientDatabaseError(e), expected.transient, 'transient');
      assert.equal(isDatabaseUnavailable(e), expected.unavailable, 'unavailable (503)');
    });
  }
});
