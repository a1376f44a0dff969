/**
 * A self-signed CA and a serving certificate for the webhook, made with node:crypto alone:
 * node can make keys and signatures but not X.509, so the certificate structure is encoded
 * here as DER. As Kyverno's pkg/tls: RSA 2048 (the default), ECDSA P-256 or Ed25519 keys, a CA
 * valid a year and serving certificates 150 days, renewed 15 days before expiry, the CA with
 * its own key again so the certificates it signed stay valid. No openssl at run time.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { bitStringBytes, readChildren, readDer } from '../engine/crypto/der';

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

/** Kyverno's `--tlsKeyAlgorithm` values. */
export type KeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['RSA', 'ECDSA', 'Ed25519'];
/** Kyverno's default (kept there for backward compatibility, and so here). */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'RSA';

/** A `--tls-key-algorithm` value, matched without regard to case as Kyverno does ('' is RSA). */
export function parseKeyAlgorithm(text: string): KeyAlgorithm {
  const found = text === '' ? DEFAULT_KEY_ALGORITHM : KEY_ALGORITHMS.find((a) => a.toUpperCase() === text.toUpperCase());
  if (!found) throw new Error(`unsupported key algorithm: ${text} (supported: RSA, ECDSA, Ed25519)`);
  return found;
}

/** The algorithm of a key (undefined for any other kind of key). */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa': return 'RSA';
    case 'ec': return 'ECDSA';
    case 'ed25519': return 'Ed25519';
    default: return undefined;
  }
}

function generateKey(algorithm: KeyAlgorithm): KeyObject {
  if (algorithm === 'ECDSA') return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  if (algorithm === 'Ed25519') return generateKeyPairSync('ed25519').privateKey;
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }).privateKey;
}

/** The signature algorithm identifier and signer for a CA key (Go's choice for each key type). */
function signerOf(key: KeyObject): { id: Buffer; sign: (tbs: Buffer) => Buffer } {
  switch (keyAlgorithmOf(key)) {
    case 'RSA': return { id: seq(oid('1.2.840.113549.1.1.11'), tlv(0x05)), sign: (tbs) => sign('sha256', tbs, key) };
    case 'ECDSA': return { id: seq(oid('1.2.840.10045.4.3.2')), sign: (tbs) => sign('sha256', tbs, { key, dsaEncoding: 'der' }) };
    case 'Ed25519': return { id: seq(oid('1.3.101.112')), sign: (tbs) => sign(null, tbs, key) };
    default: throw new Error(`cannot sign certificates with a ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
}

const spkiOf = (key: KeyObject) => createPublicKey(key).export({ type: 'spki', format: 'der' });

/** Go's subject key identifier: the SHA-1 of the public key's bits (RFC 5280 4.2.1.2, method 1). */
function keyId(spki: Buffer): Buffer {
  const bitString = readChildren(readDer(spki))[1];
  return createHash('sha1').update(bitStringBytes(bitString)).digest();
}

export interface Certificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateSet {
  /** The CA that signs the serving certificate, with its key (kept in the cluster, as Kyverno keeps it, to renew). */
  ca: Certificate;
  serving: Certificate;
  /**
   * During a rotation to a new CA key: the CA certificates being replaced, still trusted beside
   * the new one while they are valid, so replicas still serving a certificate they signed keep
   * being accepted.
   */
  previousCaPem?: string;
}

/** The CAs the API server must trust, in Kyverno's order (the CA secret's tls.crt): previous ones, then the current one. */
export function trustBundle(set: CertificateSet): string {
  return set.previousCaPem ? `${set.previousCaPem}${set.ca.certPem}` : set.ca.certPem;
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

// Key usage bits as Go encodes them: digitalSignature 0x80, keyEncipherment 0x20, keyCertSign 0x04.
function keyUsage(isCA: boolean, rsa: boolean): Buffer {
  const byte = 0x80 | (rsa ? 0x20 : 0) | (isCA ? 0x04 : 0);
  let unused = 0;
  while (!((byte >> unused) & 1)) unused++;
  return bits(Buffer.from([byte]), unused);
}

function certificate(spec: Spec): string {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const signer = signerOf(spec.signingKey);
  // As Kyverno's generateCA/generateTLS: RSA keys also get keyEncipherment.
  const exts: Buffer[] = [
    extension('2.5.29.15', true, keyUsage(spec.isCA, keyAlgorithmOf(spec.publicKey) === 'RSA')),
    extension('2.5.29.19', true, spec.isCA ? seq(bool(true)) : seq()),
  ];
  if (spec.isCA) {
    // Go adds the subject key id to a CA; it tells two CAs of one name apart when both are trusted.
    exts.push(extension('2.5.29.14', false, octets(keyId(spki))));
  } else {
    exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
    exts.push(extension('2.5.29.35', false, seq(tlv(0x80, keyId(spkiOf(spec.signingKey))))));
    const names = spec.hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii'))));
    exts.push(extension('2.5.29.17', false, seq(...names)));
  }
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    signer.id,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const der = seq(tbs, signer.id, bits(signer.sign(tbs)));
  const b64 = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

const DAY_MS = 86_400_000;
/** Kyverno's CAValidityDuration. */
export const CA_VALIDITY_DAYS = 365;
/** Kyverno's TLSValidityDuration. */
export const TLS_VALIDITY_DAYS = 150;
/** Kyverno's --renewBefore default: days before expiry at which deploy and the in-cluster renewer replace a certificate. */
export const RENEW_BEFORE_DAYS = 15;
/** The same in milliseconds (`serve --renew-before` sets another). */
export const RENEW_BEFORE_MS = RENEW_BEFORE_DAYS * DAY_MS;

const pemOf = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
// As Kyverno: valid from an hour ago, for clocks behind ours.
const validFrom = (now: Date) => new Date(now.getTime() - 3_600_000);

function checkHosts(hosts: string[]): void {
  if (hosts.length === 0) throw new Error('a serving certificate needs at least one host name');
  for (const h of hosts) {
    if (!isIP(h) && !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(h)) {
      throw new Error(`"${h}" is neither a DNS name nor an IP address`);
    }
  }
}

function caCertificate(key: KeyObject, subject: string, now: Date, days: number): string {
  return certificate({ subject, issuer: subject, publicKey: createPublicKey(key), signingKey: key, isCA: true, hosts: [], notBefore: validFrom(now), notAfter: new Date(now.getTime() + days * DAY_MS) });
}

function servingCertificate(hosts: string[], ca: { certPem: string; key: KeyObject }, algorithm: KeyAlgorithm, now: Date, days: number): Certificate {
  const key = generateKey(algorithm);
  const certPem = certificate({
    subject: hosts[0], issuer: commonNameOf(ca.certPem), publicKey: createPublicKey(key), signingKey: ca.key, isCA: false, hosts,
    notBefore: validFrom(now), notAfter: new Date(now.getTime() + days * DAY_MS),
  });
  return { certPem, keyPem: pemOf(key) };
}

function commonNameOf(certPem: string): string {
  const subject = new X509Certificate(certPem).subject;
  return /^CN=(.*)$/m.exec(subject)?.[1] ?? subject;
}

export interface CertificateOptions {
  /** DNS names and IP addresses the serving certificate is valid for (first one is its CN). */
  hosts: string[];
  /** Kyverno's --tlsKeyAlgorithm (RSA by default). */
  algorithm?: KeyAlgorithm;
  /** Both certificates' validity (default: the CA a year, the serving certificate 150 days, as Kyverno's). */
  validDays?: number;
  now?: Date;
}

/** Makes a fresh CA and a serving certificate it signed, for `hosts`. */
export function makeCertificates(opts: CertificateOptions): CertificateSet {
  checkHosts(opts.hosts);
  const now = opts.now ?? new Date();
  const algorithm = opts.algorithm ?? DEFAULT_KEY_ALGORITHM;
  const caKey = generateKey(algorithm);
  const caPem = caCertificate(caKey, `kyverno-studio-ca-${randomBytes(4).toString('hex')}`, now, opts.validDays ?? CA_VALIDITY_DAYS);
  return {
    ca: { certPem: caPem, keyPem: pemOf(caKey) },
    serving: servingCertificate(opts.hosts, { certPem: caPem, key: caKey }, algorithm, now, opts.validDays ?? TLS_VALIDITY_DAYS),
  };
}

export interface CoverOptions {
  /** How long the serving certificate must stay valid (Kyverno's --renewBefore; RENEW_BEFORE_MS by default). */
  renewBeforeMs?: number;
  now?: Date;
  /** When given, the serving key must be of this algorithm. */
  algorithm?: KeyAlgorithm;
}

/**
 * True when `set` is still usable for `hosts`: the serving certificate was issued by the CA,
 * names every host, has a key of the wanted algorithm and stays valid for at least
 * `renewBeforeMs` more. Lets a second deploy keep the existing certificates (and the caBundle).
 */
export function certificatesCover(set: CertificateSet, hosts: string[], opts: CoverOptions = {}): boolean {
  const now = opts.now ?? new Date();
  try {
    const ca = new X509Certificate(set.ca.certPem);
    const leaf = new X509Certificate(set.serving.certPem);
    if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return false;
    const leafKey = createPrivateKey(set.serving.keyPem);
    if (!leaf.checkPrivateKey(leafKey)) return false;
    if (opts.algorithm && keyAlgorithmOf(leafKey) !== opts.algorithm) return false;
    if (new Date(leaf.validTo).getTime() < now.getTime() + (opts.renewBeforeMs ?? RENEW_BEFORE_MS)) return false;
    return hosts.every((h) => (isIP(h) ? leaf.checkIP(h) !== undefined : leaf.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

/** The PEM certificates of a bundle, each ending in a newline. */
export function pemBlocks(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => `${b}\n`);
}

/** The DNS names and IP addresses a serving certificate is valid for. */
export function hostsOf(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san.split(/,\s*/).map((n) => /^(?:DNS|IP Address):(.+)$/.exec(n)?.[1]).filter((h): h is string => !!h);
}

function parsed(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function privateKeyOf(pem: string): KeyObject | undefined {
  try {
    return pem ? createPrivateKey(pem) : undefined;
  } catch {
    return undefined;
  }
}

export interface RenewOptions {
  /** Kyverno's --tlsKeyAlgorithm (RSA by default). */
  algorithm?: KeyAlgorithm;
  now?: Date;
  /** Kyverno's --renewBefore: how long before expiry a certificate is replaced (RENEW_BEFORE_MS by default). */
  renewBeforeMs?: number;
}

/**
 * The certificates to serve with next, given those in use, as Kyverno's certRenewer decides:
 * - the CA is kept while a certificate of its key stays valid for `renewBeforeMs` more (Kyverno's
 *   --renewBefore, 15 days by default);
 *   then it is renewed with the same key (RenewCA reuses the secret's key), so what it signed
 *   stays valid. Without a usable key (none kept, as older versions of ours did, or of another
 *   algorithm than the one asked for, which Kyverno refuses) it gets a new key, and the CAs it
 *   replaces stay trusted beside it while they are valid;
 * - the serving certificate is kept while the current CA verifies it, it names `hosts`, its
 *   key is of the algorithm asked for and it stays valid for `renewBeforeMs` more;
 *   otherwise the current CA signs a new one.
 * `rotated` says whether anything changed (the same `current` object is returned otherwise).
 */
export function nextCertificates(current: CertificateSet | undefined, hosts: string[], opts: RenewOptions = {}): { set: CertificateSet; rotated: boolean } {
  checkHosts(hosts);
  const algorithm = opts.algorithm ?? DEFAULT_KEY_ALGORITHM;
  const now = opts.now ?? new Date();
  const renewBeforeMs = opts.renewBeforeMs ?? RENEW_BEFORE_MS;
  const renewAt = now.getTime() + renewBeforeMs;
  const bundle = current ? pemBlocks(trustBundle(current)) : [];
  const validAt = (pem: string, t: number) => {
    const c = parsed(pem);
    return !!c && new Date(c.validFrom).getTime() <= now.getTime() && new Date(c.validTo).getTime() >= t;
  };
  const heldKey = privateKeyOf(current?.ca.keyPem ?? '');
  const usableKey = heldKey && keyAlgorithmOf(heldKey) === algorithm ? heldKey : undefined;
  const keySpki = usableKey && spkiOf(usableKey);
  const ofKey = (pem: string, spki: Buffer | undefined) => !!spki && !!parsed(pem)?.publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
  const keyCerts = bundle.filter((pem) => ofKey(pem, keySpki));
  let ca: { certPem: string; key: KeyObject; keyPem: string };
  const kept = keyCerts.filter((pem) => validAt(pem, renewAt)).pop();
  if (kept && usableKey) {
    ca = { certPem: kept, key: usableKey, keyPem: current!.ca.keyPem };
  } else if (usableKey) {
    // RenewCA: a new certificate for the same key and name; certificates it signed verify under it.
    const subject = keyCerts.length ? commonNameOf(keyCerts[keyCerts.length - 1]) : `kyverno-studio-ca-${randomBytes(4).toString('hex')}`;
    ca = { certPem: caCertificate(usableKey, subject, now, CA_VALIDITY_DAYS), key: usableKey, keyPem: current!.ca.keyPem };
  } else {
    const key = generateKey(algorithm);
    ca = { certPem: caCertificate(key, `kyverno-studio-ca-${randomBytes(4).toString('hex')}`, now, CA_VALIDITY_DAYS), key, keyPem: pemOf(key) };
  }
  const caSpki = spkiOf(ca.key);
  // A CA of another key is still needed while it is valid: replicas may serve what it signed.
  // One of the same key is superseded by the current certificate.
  const previous = bundle.filter((pem) => pem !== ca.certPem && !ofKey(pem, caSpki) && validAt(pem, now.getTime()));
  const servingKept = current && certificatesCover({ ca, serving: current.serving }, hosts, { now, algorithm, renewBeforeMs });
  const serving = servingKept ? current.serving : servingCertificate(hosts, ca, algorithm, now, TLS_VALIDITY_DAYS);
  const set: CertificateSet = { ca: { certPem: ca.certPem, keyPem: ca.keyPem }, serving, ...(previous.length ? { previousCaPem: previous.join('') } : {}) };
  if (current && servingKept && current.ca.keyPem === set.ca.keyPem && trustBundle(current) === trustBundle(set)) return { set: current, rotated: false };
  return { set, rotated: true };
}

/** The certificates of our older single Secret (`kyverno-studio-webhook-tls`, its `ca.crt` the trust bundle; no CA key). */
export function secretCertificates(secret: Record<string, unknown> | undefined): CertificateSet | undefined {
  const data = (secret?.data ?? {}) as Record<string, string>;
  if (!data['tls.crt'] || !data['tls.key'] || !data['ca.crt']) return undefined;
  const dec = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return { ca: { certPem: dec(data['ca.crt']), keyPem: '' }, serving: { certPem: dec(data['tls.crt']), keyPem: dec(data['tls.key']) } };
}
