/**
 * IP addresses and networks without node:net, so the core can judge recipients' address
 * literals and the engine can judge where a webhook or an MX host points.
 */
export interface IpAddress {
  family: 4 | 6;
  /** The address as a number: 32 bits for IPv4, 128 for IPv6. */
  value: bigint;
}

export interface Network {
  family: 4 | 6;
  base: bigint;
  prefix: number;
}

const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted-quad IPv4 or RFC 4291 IPv6 text (zone ids refused); anything else is null. */
export function parseIp(text: string): IpAddress | null {
  return v4.test(text) ? parseIpv4(text) : parseIpv6(text);
}

function parseIpv4(text: string): IpAddress | null {
  const m = v4.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  // Leading zeros read as octal in some resolvers: refuse rather than guess.
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return null;
  return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
}

function parseIpv6(text: string): IpAddress | null {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.length > 45) return null;
  let groups: number[] = [];
  let tail = text;
  // An embedded IPv4 in the last 32 bits (::ffff:127.0.0.1).
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    if (lastColon < 0) return null;
    const embedded = parseIpv4(text.slice(lastColon + 1));
    if (!embedded) return null;
    tail = `${text.slice(0, lastColon + 1)}${((embedded.value >> 16n) & 0xffffn).toString(16)}:${(embedded.value & 0xffffn).toString(16)}`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return null;
  const read = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = read(halves[0]);
  const rest = halves.length === 2 ? read(halves[1]) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) };
}

/** "10.0.0.0/8", "fc00::/7", or a bare address (a network of one). */
export function parseNetwork(text: string): Network | null {
  const [address, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(address);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return null;
  return { family: ip.family, base: ip.value & mask(bits, prefix), prefix };
}

function mask(bits: number, prefix: number): bigint {
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

export function inNetwork(ip: IpAddress, net: Network): boolean {
  if (ip.family !== net.family) return false;
  return (ip.value & mask(ip.family === 4 ? 32 : 128, net.prefix)) === net.base;
}

/** An IPv4 address carried inside IPv6 (mapped, compatible, NAT64, 6to4), else the address itself. */
export function unwrapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 4) return ip;
  const hi = ip.value >> 32n;
  if (hi === 0xffffn || (hi === 0n && ip.value > 1n)) return { family: 4, value: ip.value & 0xffffffffn };
  // NAT64 (64:ff9b::/96, RFC 6052) and IPv4-translated (::ffff:0:0:0/96, RFC 2765).
  if (ip.value >> 32n === 0x0064ff9b0000000000000000n || ip.value >> 32n === 0xffff0000n) return { family: 4, value: ip.value & 0xffffffffn };
  if (ip.value >> 112n === 0x2002n) return { family: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return ip;
}

/**
 * Networks that are not the public Internet (RFC 6890 and its successors): loopback,
 * private, shared, link-local, documentation, benchmarking, multicast, reserved.
 */
export const reservedNetworks: readonly Network[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0:0/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
].map((n) => parseNetwork(n)!);

export function isReserved(ip: IpAddress): boolean {
  const plain = unwrapIpv4(ip);
  return reservedNetworks.some((n) => inNetwork(plain, n));
}

/** Parses a comma-separated CIDR list (an operator's allow list); the bad entries are named. */
export function parseNetworkList(text: string): { ok: true; networks: Network[] } | { ok: false; bad: string[] } {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const networks = entries.map((e) => parseNetwork(e));
  const bad = entries.filter((_, i) => networks[i] === null);
  return bad.length > 0 ? { ok: false, bad } : { ok: true, networks: networks as Network[] };
}

/**
 * Whether mailshift may connect to `address` on a tenant's behalf: public addresses
 * always, reserved ones only inside a network the operator allowed.
 */
export function mayConnect(address: string, allowed: readonly Network[]): boolean {
  const ip = parseIp(address.replace(/^\[|\]$/g, ''));
  if (!ip) return false;
  if (!isReserved(ip)) return true;
  const plain = unwrapIpv4(ip);
  return allowed.some((n) => inNetwork(ip, n) || inNetwork(plain, n));
}
