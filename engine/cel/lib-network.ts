/** Kubernetes CEL `ip`, `cidr` and `url` libraries. */
import type { Environment } from '@marcbachmann/cel-js';

export class CelIP {
  constructor(readonly bytes: number[], readonly text: string) {}
  get family(): number { return this.bytes.length === 4 ? 4 : 6; }
}

export class CelCIDR {
  constructor(readonly ip: CelIP, readonly prefix: number) {}
}

export class CelURL {
  constructor(readonly url: URL, readonly raw: string) {}
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Kubernetes rejects leading zeros (ambiguous octal).
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

function parseIPv6(s: string): number[] | null {
  if (s.includes('%')) return null;
  let head = s, tail4: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail4 = v4;
    head = s.slice(0, lastColon + 1) + (s[lastColon - 1] === ':' ? '' : '0');
    if (head.endsWith(':0')) head = head.slice(0, -2);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const toGroups = (h: string): number[] | null => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)).some(Number.isNaN) ? null : h.split(':').map((g) => parseInt(g, 16)));
  const left = toGroups(halves[0]);
  const right = halves.length === 2 ? toGroups(halves[1]) : [];
  if (!left || !right) return null;
  const needed = 8 - tail4.length / 2;
  let groups: number[];
  if (halves.length === 2) {
    if (left.length + right.length >= needed) return null;
    groups = [...left, ...Array(needed - left.length - right.length).fill(0), ...right];
  } else {
    if (left.length !== needed) return null;
    groups = left;
  }
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  return [...bytes, ...tail4];
}

export function parseIP(s: string): CelIP | null {
  const bytes = s.includes(':') ? parseIPv6(s) : parseIPv4(s);
  return bytes ? new CelIP(bytes, s) : null;
}

export function ipToString(ip: CelIP): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i] << 8) | ip.bytes[i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export function parseCIDR(s: string): CelCIDR | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIP(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > ip.bytes.length * 8) return null;
  return new CelCIDR(ip, prefix);
}

function maskBytes(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

function cidrContains(c: CelCIDR, ip: CelIP): boolean {
  if (ip.bytes.length !== c.ip.bytes.length) return false;
  const a = maskBytes(c.ip.bytes, c.prefix), b = maskBytes(ip.bytes, c.prefix);
  return a.every((x, i) => x === b[i]);
}

function must<T>(value: T | null, what: string, input: string): T {
  if (value === null) throw new Error(`${what} parse error during conversion from string: ${input}`);
  return value;
}

function isLoopback(ip: CelIP): boolean {
  return ip.family === 4 ? ip.bytes[0] === 127 : ip.bytes.slice(0, 15).every((b) => b === 0) && ip.bytes[15] === 1;
}

export function registerNetworkLibraries(env: Environment): void {
  env.registerType('net.IP', CelIP).registerType('net.CIDR', CelCIDR).registerType('net.URL', CelURL);
  env
    .registerFunction('ip(string): net.IP', (s: string) => must(parseIP(s), 'IP Address', s))
    .registerFunction('isIP(string): bool', (s: string) => parseIP(s) !== null)
    .registerFunction('string(net.IP): string', (ip: CelIP) => ipToString(ip))
    .registerFunction('net.IP.family(): int', (ip: CelIP) => BigInt(ip.family))
    .registerFunction('net.IP.isUnspecified(): bool', (ip: CelIP) => ip.bytes.every((b) => b === 0))
    .registerFunction('net.IP.isLoopback(): bool', (ip: CelIP) => isLoopback(ip))
    .registerFunction('net.IP.isLinkLocalMulticast(): bool', (ip: CelIP) =>
      ip.family === 4 ? ip.bytes[0] === 224 && ip.bytes[1] === 0 && ip.bytes[2] === 0 : ip.bytes[0] === 0xff && (ip.bytes[1] & 0x0f) === 2)
    .registerFunction('net.IP.isLinkLocalUnicast(): bool', (ip: CelIP) =>
      ip.family === 4 ? ip.bytes[0] === 169 && ip.bytes[1] === 254 : ip.bytes[0] === 0xfe && (ip.bytes[1] & 0xc0) === 0x80)
    .registerFunction('net.IP.isGlobalUnicast(): bool', (ip: CelIP) =>
      !ip.bytes.every((b) => b === 0) && !isLoopback(ip) &&
      !(ip.family === 4 ? ip.bytes[0] >= 224 || (ip.bytes[0] === 169 && ip.bytes[1] === 254) || ip.bytes.every((b) => b === 255) : ip.bytes[0] === 0xff || (ip.bytes[0] === 0xfe && (ip.bytes[1] & 0xc0) === 0x80)))
    .registerFunction('cidr(string): net.CIDR', (s: string) => must(parseCIDR(s), 'network address', s))
    .registerFunction('isCIDR(string): bool', (s: string) => parseCIDR(s) !== null)
    .registerFunction('string(net.CIDR): string', (c: CelCIDR) => `${ipToString(c.ip)}/${c.prefix}`)
    .registerFunction('net.CIDR.containsIP(string): bool', (c: CelCIDR, s: string) => cidrContains(c, must(parseIP(s), 'IP Address', s)))
    .registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCIDR, ip: CelIP) => cidrContains(c, ip))
    .registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCIDR, s: string) => {
      const o = must(parseCIDR(s), 'network address', s);
      return o.prefix >= c.prefix && cidrContains(c, o.ip);
    })
    .registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CelCIDR, o: CelCIDR) => o.prefix >= c.prefix && cidrContains(c, o.ip))
    .registerFunction('net.CIDR.ip(): net.IP', (c: CelCIDR) => c.ip)
    .registerFunction('net.CIDR.masked(): net.CIDR', (c: CelCIDR) => new CelCIDR(new CelIP(maskBytes(c.ip.bytes, c.prefix), ''), c.prefix))
    .registerFunction('net.CIDR.prefixLength(): int', (c: CelCIDR) => BigInt(c.prefix))
    .registerFunction('url(string): net.URL', (s: string) => {
      try {
        return new CelURL(new URL(s), s);
      } catch {
        throw new Error(`URL parse error during conversion from string: ${s}`);
      }
    })
    .registerFunction('isURL(string): bool', (s: string) => {
      try { new URL(s); return true; } catch { return false; }
    })
    .registerFunction('net.URL.getScheme(): string', (u: CelURL) => u.url.protocol.replace(/:$/, ''))
    .registerFunction('net.URL.getHost(): string', (u: CelURL) => u.url.host)
    .registerFunction('net.URL.getHostname(): string', (u: CelURL) => u.url.hostname.replace(/^\[|\]$/g, ''))
    .registerFunction('net.URL.getPort(): string', (u: CelURL) => u.url.port)
    .registerFunction('net.URL.getEscapedPath(): string', (u: CelURL) => u.url.pathname)
    .registerFunction('net.URL.getQuery(): map<string, list<string>>', (u: CelURL) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of u.url.searchParams) (out[k] ??= []).push(v);
      return out;
    });
}
