/**
 * Which addresses a webhook may be delivered to (SSRF protection). By default none that reaches
 * into the installation's own network: loopback, private (RFC 1918, unique local), link-local
 * (with the cloud metadata address 169.254.169.254), carrier-grade NAT, unspecified, multicast,
 * reserved and the IPv6 forms that embed an IPv4 address (NAT64, 6to4, Teredo; IPv4-mapped
 * addresses are checked as the IPv4 address they carry). `WEBHOOK_ALLOWED_CIDRS` admits
 * internal targets explicitly. The check runs on resolved addresses, never on host names.
 */
import { BlockList, isIP } from 'node:net';

/** Why an address is refused; null when it is allowed. */
export type RefusedClass = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

const RANGES: [RefusedClass, string, number, 'ipv4' | 'ipv6'][] = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['link-local', '169.254.0.0', 16, 'ipv4'], // includes the metadata service 169.254.169.254
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'],
  ['reserved', '203.0.113.0', 24, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'], // and 255.255.255.255
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'], // unique local (includes AWS's fd00:ec2::254 metadata)
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
  ['reserved', '64:ff9b::', 96, 'ipv6'], // NAT64: reaches any IPv4 address
  ['reserved', '64:ff9b:1::', 48, 'ipv6'],
  ['reserved', '2002::', 16, 'ipv6'], // 6to4
  ['reserved', '2001::', 32, 'ipv6'], // Teredo
  ['reserved', '2001:db8::', 32, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'], // discard
];

export interface AddressPolicy {
  /** Null when a delivery may connect to `address` (an IP literal), else the class that refuses it. */
  refusal(address: string): RefusedClass | 'not_an_address' | null;
}

const familyOf = (address: string) => (isIP(address) === 4 ? 'ipv4' : 'ipv6');

/** `allowedCidrs`: `a.b.c.d/n` or `x::/n` entries admitted in spite of their class. */
export function createAddressPolicy(allowedCidrs: readonly string[]): AddressPolicy {
  const classes = new Map<RefusedClass, BlockList>();
  for (const [cls, network, prefix, family] of RANGES) {
    const list = classes.get(cls) ?? new BlockList();
    list.addSubnet(network, prefix, family);
    classes.set(cls, list);
  }
  const allowed = new BlockList();
  for (const cidr of allowedCidrs) {
    // Validated by the config (WEBHOOK_ALLOWED_CIDRS); addSubnet throws on anything else.
    const [network = '', prefix = ''] = cidr.trim().split('/');
    allowed.addSubnet(network, Number(prefix), familyOf(network));
  }
  return {
    refusal(raw) {
      const address = unmapIpv4(raw);
      if (isIP(address) === 0) return 'not_an_address';
      const family = familyOf(address);
      if (allowed.check(address, family)) return null;
      for (const [cls, list] of classes) if (list.check(address, family)) return cls;
      return null;
    },
  };
}

/** `::ffff:a.b.c.d` (or its hex form `::ffff:7f00:1`) is that IPv4 address on the wire. */
export function unmapIpv4(address: string): string {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return address;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}
