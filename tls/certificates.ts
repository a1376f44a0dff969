/**
 * A self-signed CA and a serving certificate for the webhook, made with node:crypto alone:
 * node can make keys and signatures but not X.509, so the certificate structure is encoded
 * here as DER (ECDSA P-256, SHA-256). No openssl at run time.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1] < 0x80) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

export interface Certificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateSet {
  ca: Certificate;
  serving: Certificate;
  /**
   * During a rotation: the CA being replaced, still trusted beside the new one (as Kyverno keeps
   * it in the caBundle), so replicas still serving the old certificate keep being accepted.
   */
  previousCaPem?: string;
}

/** The CAs the API server must trust: the current one and, during a rotation, the previous one. */
export function trustBundle(set: CertificateSet): string {
  return set.previousCaPem ? `${set.ca.certPem}${set.previousCaPem}` : set.ca.certPem;
}

interface Spec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  isCA: boolean;
  hosts: string[];
  notBefore: Date;
  notAfter: Date;
}

function certificate(spec: Spec): string {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const exts: Buffer[] = [
    extension('2.5.29.19', true, spec.isCA ? seq(bool(true)) : seq()),
    // keyUsage: CA = digitalSignature|keyCertSign|cRLSign; leaf = digitalSignature|keyEncipherment
    extension('2.5.29.15', true, spec.isCA ? bits(Buffer.from([0x86]), 1) : bits(Buffer.from([0xa0]), 5)),
  ];
  if (!spec.isCA) {
    exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
    const names = spec.hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii'))));
    exts.push(extension('2.5.29.17', false, seq(...names)));
  }
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

export interface CertificateOptions {
  /** DNS names and IP addresses the serving certificate is valid for (first one is its CN). */
  hosts: string[];
  /** At most a year by default (deploys rotate 30 days before expiry, see certificatesCover). */
  validDays?: number;
  now?: Date;
}

/** Makes a fresh CA and a serving certificate it signed, for `hosts`. */
export function makeCertificates(opts: CertificateOptions): CertificateSet {
  if (opts.hosts.length === 0) throw new Error('a serving certificate needs at least one host name');
  for (const h of opts.hosts) {
    if (!isIP(h) && !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(h)) {
      throw new Error(`"${h}" is neither a DNS name nor an IP address`);
    }
  }
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clock skew
  const notAfter = new Date(now.getTime() + (opts.validDays ?? 365) * 86_400_000);
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caName = `kyverno-studio-ca-${randomBytes(4).toString('hex')}`;
  const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    ca: {
      certPem: certificate({ subject: caName, issuer: caName, publicKey: ca.publicKey, signingKey: ca.privateKey, isCA: true, hosts: [], notBefore, notAfter }),
      keyPem: pem(ca.privateKey),
    },
    serving: {
      certPem: certificate({
        subject: opts.hosts[0], issuer: caName, publicKey: leaf.publicKey, signingKey: ca.privateKey, isCA: false, hosts: opts.hosts, notBefore, notAfter,
      }),
      keyPem: pem(leaf.privateKey),
    },
  };
}

/**
 * True when `set` is still usable for `hosts`: the serving certificate was issued by the CA,
 * names every host and stays valid for at least `minDays` more days. Lets a second deploy
 * keep the existing certificates (and the caBundle) instead of rotating them.
 */
export function certificatesCover(set: CertificateSet, hosts: string[], minDays = 30, now = new Date()): boolean {
  try {
    const ca = new X509Certificate(set.ca.certPem);
    const leaf = new X509Certificate(set.serving.certPem);
    if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return false;
    const leafKey = createPrivateKey(set.serving.keyPem);
    if (!leaf.checkPrivateKey(leafKey)) return false;
    if (new Date(leaf.validTo).getTime() < now.getTime() + minDays * 86_400_000) return false;
    return hosts.every((h) => (isIP(h) ? leaf.checkIP(h) !== undefined : leaf.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

/** Days before expiry at which deploy and the in-cluster renewer replace the certificates. */
export const RENEW_BEFORE_DAYS = 30;

/** The PEM certificates of a bundle, each ending in a newline. */
export function pemBlocks(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => `${b}\n`);
}

/** The DNS names and IP addresses a serving certificate is valid for. */
export function hostsOf(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san.split(/,\s*/).map((n) => /^(?:DNS|IP Address):(.+)$/.exec(n)?.[1]).filter((h): h is string => !!h);
}

/**
 * The certificates to serve with next, given those in use: the same set while it covers
 * `hosts` for RENEW_BEFORE_DAYS more days; otherwise a fresh CA and serving certificate, with
 * the current CA still trusted beside the new one while it is valid (as Kyverno keeps it in the
 * caBundle), so replicas serving the old certificate are accepted until they pick up the new one.
 * The CA key never lives in the cluster, so a renewal always makes a new CA.
 */
export function nextCertificates(current: CertificateSet | undefined, hosts: string[], now = new Date()): { set: CertificateSet; rotated: boolean } {
  if (current && certificatesCover(current, hosts, RENEW_BEFORE_DAYS, now)) return { set: current, rotated: false };
  const fresh = makeCertificates({ hosts, now });
  const stillValid = current && certificatesCover(current, hosts, 0, now);
  return { set: stillValid ? { ...fresh, previousCaPem: pemBlocks(current.ca.certPem)[0] } : fresh, rotated: true };
}

/** The certificates a `kubernetes.io/tls` Secret written by deploy holds (its `ca.crt` is the trust bundle). */
export function secretCertificates(secret: Record<string, unknown> | undefined): CertificateSet | undefined {
  const data = (secret?.data ?? {}) as Record<string, string>;
  if (!data['tls.crt'] || !data['tls.key'] || !data['ca.crt']) return undefined;
  const dec = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return { ca: { certPem: dec(data['ca.crt']), keyPem: '' }, serving: { certPem: dec(data['tls.crt']), keyPem: dec(data['tls.key']) } };
}
