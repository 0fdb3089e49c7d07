/**
 * The webhook SSRF policy: every refused class, the allow-list, IPv4-mapped IPv6; and the guarded
 * POST checks resolved addresses (a host name that resolves to a private address is refused) and
 * connects to the address it checked, never resolving again (no DNS rebinding between the two).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createAddressPolicy, unmapIpv4 } from '../../services/api/webhooks/address-policy';
import { guardedPost } from '../../services/api/webhooks/guarded-post';

describe('webhook address policy', () => {
  const policy = createAddressPolicy([]);
  const cases: [string, string | null][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['100.64.0.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['64:ff9b::a00:1', 'reserved'],
    ['2002:a00:1::', 'reserved'],
    ['93.184.216.34', null],
    ['172.32.0.1', null],
    ['2606:4700::1111', null],
  ];
  for (const [address, expected] of cases) {
    it(`${address}: ${expected ?? 'allowed'}`, () => assert.equal(policy.refusal(address), expected));
  }

  it('admits what WEBHOOK_ALLOWED_CIDRS lists, and nothing next to it', () => {
    const p = createAddressPolicy(['10.1.2.0/24', 'fd00::/8']);
    assert.equal(p.refusal('10.1.2.77'), null);
    assert.equal(p.refusal('::ffff:10.1.2.77'), null);
    assert.equal(p.refusal('10.1.3.1'), 'private');
    assert.equal(p.refusal('fd12::1'), null);
    assert.equal(p.refusal('fc00::1'), 'private');
  });

  it('unmaps both spellings of an IPv4-mapped address', () => {
    assert.equal(unmapIpv4('::ffff:169.254.169.254'), '169.254.169.254');
    assert.equal(unmapIpv4('::FFFF:a9fe:a9fe'), '169.254.169.254');
    assert.equal(unmapIpv4('2001:db8::1'), '2001:db8::1');
  });
});

describe('guarded webhook POST', () => {
  const strict = createAddressPolicy([]);

  it('refuses a host name that resolves to a private address, after resolving it', async () => {
    let asked = '';
    const r = await guardedPost('http://internal.example.com/hook', '{}', {}, {
      policy: strict,
      timeoutMs: 1_000,
      resolve: (host) => {
        asked = host;
        return Promise.resolve([{ address: '10.0.0.5', family: 4 }]);
      },
    });
    assert.equal(asked, 'internal.example.com');
    assert.equal(r.kind, 'refused');
    assert.match(r.kind === 'refused' ? r.error : '', /10\.0\.0\.5 \(private\)/);
  });

  it('refuses a host name when any of its addresses is refused', async () => {
    const r = await guardedPost('http://mixed.example.com/hook', '{}', {}, {
      policy: strict,
      timeoutMs: 1_000,
      resolve: () => Promise.resolve([{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }]),
    });
    assert.equal(r.kind, 'refused');
  });

  it('connects to the address it checked, without resolving the name again', async () => {
    const hosts: string[] = [];
    const server = http.createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    let lookups = 0;
    try {
      // 'rebind.invalid' does not exist in any DNS: the request can only reach the pinned address.
      const r = await guardedPost(`http://rebind.invalid:${port}/hook`, '{}', {}, {
        policy: createAddressPolicy(['127.0.0.1/32']),
        timeoutMs: 2_000,
        resolve: () => {
          lookups += 1;
          return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
        },
      });
      assert.deepEqual(r, { kind: 'delivered', status: 204 });
      assert.equal(lookups, 1);
      assert.deepEqual(hosts, [`rebind.invalid:${port}`], 'the Host header keeps the name');
    } finally {
      server.close();
    }
  });
});
