import net from 'node:net';

// Addresses a storage URL must never reach: loopback, private, carrier-grade NAT, link-local
// (which holds the 169.254.169.254 cloud metadata service), Azure's platform address
// 168.63.129.16 (DNS, DHCP, health probes and the VM agent's wire server), unspecified,
// benchmark, multicast and reserved ranges, for IPv4 and IPv6 (with the deprecated site-local
// fec0::/10, still routed inside some networks).
const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['168.63.129.16', 32],
] as const)
  blocked.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
  // Forms that carry an IPv4 address inside: IPv4-compatible (::7f00:1), 6to4 and Teredo. Storage
  // endpoints never use them, so they are refused whole rather than decoded.
  ['::', 96],
  ['2002::', 16],
  ['2001::', 32],
] as const)
  blocked.addSubnet(prefix, bits, 'ipv6');

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:7f00:1) as its IPv4 form. */
function unmapIPv4(address: string): string | undefined {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** A URL's host name without the brackets of an IPv6 literal, as `net.isIP` and DNS take it. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '');
}

/** True for an IP address (either family; brackets allowed) in a range storage must not reach. */
export function isPrivateAddress(address: string): boolean {
  const bare = bareHost(address);
  const family = net.isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = unmapIPv4(bare.toLowerCase());
    return v4 !== undefined ? blocked.check(v4, 'ipv4') : blocked.check(bare, 'ipv6');
  }
  return false;
}
