/**
 * X.509 certificates for signature checks, as Go's crypto/x509 reads and verifies them (the
 * subset cosign relies on): parsing (validity, basic constraints, key usage, extended key
 * usage, subject alternative names, the raw extensions that carry Fulcio's OIDC claims),
 * `CheckSignatureFrom`, and chain building from roots and intermediates at a given time with
 * required extended key usages (`Certificate.Verify`). Error texts are Go's.
 */
import { base64Decode } from '../jmespath/go-compat';
import {
  asn1String,
  asn1Time,
  bigIntOf,
  bitStringBytes,
  DerError,
  expectTag,
  oidString,
  readChildren,
  readDer,
  TAG,
  type DerNode,
} from './der';
import { KeyError, parseSpki, type PublicKey } from './keys';
import { verifyWithKey, type HashName } from './verify';

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The extension's OCTET STRING contents. */
  value: Uint8Array;
}

export interface Certificate {
  raw: Uint8Array;
  rawTbs: Uint8Array;
  rawSubject: Uint8Array;
  rawIssuer: Uint8Array;
  version: number;
  serial: bigint;
  subject: { commonName: string; organization: string[] };
  /** Milliseconds since the epoch, and the RFC 3339 text Go prints. */
  notBefore: number;
  notAfter: number;
  notBeforeText: string;
  notAfterText: string;
  signatureAlgorithm: string;
  /** RSASSA-PSS: the hash its parameters name. */
  pssHash?: HashName;
  signature: Uint8Array;
  /** Null for key types signatures here do not support (Go would still parse the certificate). */
  publicKey: PublicKey | null;
  extensions: CertificateExtension[];
  basicConstraintsValid: boolean;
  isCA: boolean;
  /** -1 when unset. */
  maxPathLen: number;
  /** Go's KeyUsage bit set (digitalSignature = 1, certSign = 32...); 0 when absent. */
  keyUsage: number;
  /** Extended key usages by OID. */
  extKeyUsage: string[];
  dnsNames: string[];
  emailAddresses: string[];
  ipAddresses: string[];
  uris: string[];
  /** Critical extensions Go does not handle (Verify refuses a leaf with one). */
  unhandledCritical: string[];
}

export const KEY_USAGE_CERT_SIGN = 32;
export const EKU_ANY = '2.5.29.37.0';
export const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
/** The extended key usages Go knows by name; others are "unknown" and satisfy no request. */
const KNOWN_EKUS = new Set([
  EKU_ANY, '1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', EKU_CODE_SIGNING, '1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.5',
  '1.3.6.1.5.5.7.3.6', '1.3.6.1.5.5.7.3.7', '1.3.6.1.5.5.7.3.8', '1.3.6.1.5.5.7.3.9', '1.3.6.1.4.1.311.10.3.3',
  '2.16.840.1.113730.4.1', '1.3.6.1.4.1.311.2.1.22', '1.3.6.1.4.1.311.61.1.1', '1.3.6.1.4.1.11129.2.4.4',
]);
/** Extensions Go's parser understands, so a critical one is not "unhandled". */
const HANDLED_EXTENSIONS = new Set([
  '2.5.29.15', '2.5.29.19', '2.5.29.17', '2.5.29.37', '2.5.29.30', '2.5.29.31', '2.5.29.32', '2.5.29.35', '2.5.29.14', '1.3.6.1.5.5.7.1.1',
]);

const SIGNATURE_HASHES: Record<string, { key: PublicKey['type']; hash: HashName | null; name: string }> = {
  '1.2.840.10045.4.3.2': { key: 'ecdsa', hash: 'sha256', name: 'ECDSA' },
  '1.2.840.10045.4.3.3': { key: 'ecdsa', hash: 'sha384', name: 'ECDSA' },
  '1.2.840.10045.4.3.4': { key: 'ecdsa', hash: 'sha512', name: 'ECDSA' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'sha256', name: 'RSA' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384', name: 'RSA' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512', name: 'RSA' },
  '1.2.840.113549.1.1.10': { key: 'rsa', hash: 'sha256', name: 'RSA' },
  '1.3.101.112': { key: 'ed25519', hash: null, name: 'Ed25519' },
};
const INSECURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'SHA1-RSA',
  '1.2.840.10045.4.1': 'ECDSA-SHA1',
  '1.2.840.113549.1.1.4': 'MD5-RSA',
};
const HASH_OIDS: Record<string, HashName> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export class CertificateError extends Error {}

function toMillis(text: string): number {
  return Date.parse(text);
}

function nameOf(node: DerNode): Certificate['subject'] {
  const out = { commonName: '', organization: [] as string[] };
  for (const rdn of readChildren(node)) {
    for (const atv of readChildren(rdn)) {
      const [type, value] = readChildren(atv);
      const oid = oidString(expectTag(type, TAG.OID, 'name attribute').content);
      if (!value) continue;
      if (oid === '2.5.4.3') out.commonName = asn1String(value);
      else if (oid === '2.5.4.10') out.organization.push(asn1String(value));
    }
  }
  return out;
}

const utf8 = new TextDecoder();

function ipString(ip: Uint8Array): string {
  if (ip.length === 4) return Array.from(ip).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  // RFC 5952: the longest run of zero groups (two or more) is written as "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function applyExtension(cert: Certificate, ext: CertificateExtension): boolean {
  // Only the extensions read here are DER; Fulcio's v1 values are raw strings.
  const node = () => readDer(ext.value);
  switch (ext.oid) {
    case '2.5.29.19': {
      const parts = readChildren(node());
      cert.basicConstraintsValid = true;
      let i = 0;
      if (parts[i]?.tag === TAG.BOOLEAN) cert.isCA = parts[i++].content[0] !== 0;
      if (parts[i]?.tag === TAG.INTEGER) cert.maxPathLen = Number(bigIntOf(parts[i].content));
      return true;
    }
    case '2.5.29.15': {
      const bits = bitStringBytes(node());
      let usage = 0;
      for (let i = 0; i < 9; i++) if (bits[i >> 3] & (0x80 >> (i & 7))) usage |= 1 << i;
      cert.keyUsage = usage;
      return true;
    }
    case '2.5.29.37':
      for (const k of readChildren(node())) cert.extKeyUsage.push(oidString(expectTag(k, TAG.OID, 'extended key usage').content));
      return true;
    case '2.5.29.17': {
      let supported = 0;
      for (const gn of readChildren(node())) {
        if (gn.tag === 0x82) cert.dnsNames.push(utf8.decode(gn.content));
        else if (gn.tag === 0x81) cert.emailAddresses.push(utf8.decode(gn.content));
        else if (gn.tag === 0x86) cert.uris.push(utf8.decode(gn.content));
        else if (gn.tag === 0x87 && (gn.content.length === 4 || gn.content.length === 16)) cert.ipAddresses.push(ipString(gn.content));
        else continue;
        supported++;
      }
      // Go leaves a critical SAN with only other name forms (Fulcio's OtherName) unhandled.
      return supported > 0;
    }
    default:
      return HANDLED_EXTENSIONS.has(ext.oid);
  }
}

/** x509.ParseCertificate for the fields above; throws CertificateError. */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    const top = readDer(der);
    const [tbs, sigAlg, sig] = readChildren(expectTag(top, TAG.SEQUENCE, 'certificate'));
    const parts = readChildren(expectTag(tbs, TAG.SEQUENCE, 'tbs certificate'));
    let i = 0;
    let version = 1;
    if (parts[0]?.tag === 0xa0) version = Number(bigIntOf(readChildren(parts[i++])[0].content)) + 1;
    const serial = bigIntOf(expectTag(parts[i++], TAG.INTEGER, 'serial number').content);
    i++; // the signature algorithm repeated inside the TBS
    const issuer = expectTag(parts[i++], TAG.SEQUENCE, 'issuer');
    const [notBefore, notAfter] = readChildren(expectTag(parts[i++], TAG.SEQUENCE, 'validity'));
    const subject = expectTag(parts[i++], TAG.SEQUENCE, 'subject');
    const spki = expectTag(parts[i++], TAG.SEQUENCE, 'subject public key info');
    const [algOid, algParams] = readChildren(expectTag(sigAlg, TAG.SEQUENCE, 'signature algorithm'));
    const signatureAlgorithm = oidString(expectTag(algOid, TAG.OID, 'signature algorithm').content);
    let pssHash: HashName | undefined;
    if (signatureAlgorithm === '1.2.840.113549.1.1.10') {
      // RSASSA-PSS-params: [0] hashAlgorithm (SHA-1 when absent, which Go refuses).
      const hashField = algParams ? readChildren(algParams).find((p) => p.tag === 0xa0) : undefined;
      const hashOid = hashField ? oidString(readChildren(readChildren(hashField)[0])[0].content) : '';
      pssHash = HASH_OIDS[hashOid];
    }
    let publicKey: PublicKey | null = null;
    try {
      publicKey = parseSpki(spki.raw);
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
    }
    const notBeforeText = asn1Time(notBefore);
    const notAfterText = asn1Time(notAfter);
    const cert: Certificate = {
      raw: top.raw, rawTbs: tbs.raw, rawSubject: subject.raw, rawIssuer: issuer.raw, version, serial,
      subject: nameOf(subject), notBefore: toMillis(notBeforeText), notAfter: toMillis(notAfterText), notBeforeText, notAfterText,
      signatureAlgorithm, pssHash, signature: bitStringBytes(expectTag(sig, TAG.BIT_STRING, 'signature')), publicKey,
      extensions: [], basicConstraintsValid: false, isCA: false, maxPathLen: -1, keyUsage: 0, extKeyUsage: [],
      dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [], unhandledCritical: [],
    };
    const wrapper = parts.slice(i).find((p) => p.tag === 0xa3);
    for (const ext of wrapper ? readChildren(readChildren(wrapper)[0]) : []) {
      const fields = readChildren(ext);
      const id = oidString(expectTag(fields[0], TAG.OID, 'extension').content);
      const critical = fields.length === 3 && fields[1].tag === TAG.BOOLEAN && fields[1].content[0] !== 0;
      const value = expectTag(fields[fields.length - 1], TAG.OCTET_STRING, 'extension value').content;
      const extension = { oid: id, critical, value };
      cert.extensions.push(extension);
      if (!applyExtension(cert, extension) && critical) cert.unhandledCritical.push(id);
    }
    return cert;
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    if (e instanceof DerError && e.message.startsWith('x509: ')) throw new CertificateError(e.message);
    throw new CertificateError('x509: malformed certificate');
  }
}

const PEM_BLOCK = /-----BEGIN ([^-\r\n]*)-----\r?\n([\s\S]*?)-----END \1-----/g;

function pemBlocks(text: string): Array<{ type: string; body: string }> {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ type: m[1], body: m[2].replace(/\s/g, '') }));
}

/**
 * sigstore's cryptoutils.UnmarshalCertificatesFromPEM: every PEM block must be a parseable
 * certificate; throws CertificateError otherwise.
 */
export function parseCertificatesPem(text: string): Certificate[] {
  const blocks = pemBlocks(text);
  if (blocks.length === 0 && text.trim() !== '') throw new CertificateError('error during PEM decoding');
  return blocks.map((b) => {
    let der: Uint8Array;
    try {
      der = base64Decode(b.body);
    } catch {
      throw new CertificateError('error during PEM decoding');
    }
    return parseCertificate(der);
  });
}

/** x509.CertPool.AppendCertsFromPEM: the certificates that parse, others skipped. */
export function certificatePool(text: string): Certificate[] {
  const out: Certificate[] = [];
  for (const b of pemBlocks(text)) {
    if (b.type !== 'CERTIFICATE') continue;
    try {
      out.push(parseCertificate(base64Decode(b.body)));
    } catch {
      // Go's pool skips what it cannot parse.
    }
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Signs-the-child check of Go's Certificate.CheckSignatureFrom; returns Go's error text or null. */
export function checkSignatureFrom(child: Certificate, parent: Certificate): string | null {
  if ((parent.version === 3 && !parent.basicConstraintsValid) || (parent.basicConstraintsValid && !parent.isCA)) {
    return 'x509: invalid signature: parent certificate cannot sign this kind of certificate';
  }
  if (parent.keyUsage !== 0 && (parent.keyUsage & KEY_USAGE_CERT_SIGN) === 0) {
    return 'x509: invalid signature: parent certificate cannot sign this kind of certificate';
  }
  if (INSECURE_ALGORITHMS[child.signatureAlgorithm]) return `x509: cannot verify signature: insecure algorithm ${INSECURE_ALGORITHMS[child.signatureAlgorithm]}`;
  const algorithm = SIGNATURE_HASHES[child.signatureAlgorithm];
  if (!algorithm || !parent.publicKey) return 'x509: cannot verify signature: algorithm unimplemented';
  if (algorithm.key !== parent.publicKey.type) return `x509: signature algorithm specifies an ${algorithm.name} public key, but have public key of another type`;
  const pss = child.signatureAlgorithm === '1.2.840.113549.1.1.10';
  if (pss && !child.pssHash) return 'x509: cannot verify signature: algorithm unimplemented';
  const outcome = verifyWithKey(parent.publicKey, child.rawTbs, child.signature, {
    hash: pss ? child.pssHash : (algorithm.hash ?? undefined),
    rsaPadding: pss ? 'pss' : 'pkcs1v15',
  });
  if (outcome.verified) return null;
  return algorithm.key === 'rsa' ? 'crypto/rsa: verification error' : `x509: ${algorithm.name} verification failure`;
}

/** RFC 3339 as Go's time.Format prints a UTC time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface ChainOptions {
  roots: readonly Certificate[];
  intermediates: readonly Certificate[];
  /** Milliseconds since the epoch at which every certificate of the chain must be valid. */
  at: number;
  /** Extended key usages the chain must allow (Go's VerifyOptions.KeyUsages). */
  keyUsages: readonly string[];
}

function validityError(cert: Certificate, at: number): string | null {
  if (at < cert.notBefore) return `x509: certificate has expired or is not yet valid: current time ${rfc3339(at)} is before ${cert.notBeforeText}`;
  if (at > cert.notAfter) return `x509: certificate has expired or is not yet valid: current time ${rfc3339(at)} is after ${cert.notAfterText}`;
  return null;
}

/** Go's checkChainForKeyUsage: every certificate with extended key usages must allow each requested one. */
function chainAllows(chain: readonly Certificate[], requested: readonly string[]): boolean {
  let remaining = [...requested];
  for (let i = chain.length - 1; i >= 0; i--) {
    const cert = chain[i];
    if (cert.extKeyUsage.length === 0) continue;
    if (cert.extKeyUsage.includes(EKU_ANY)) continue;
    const known = cert.extKeyUsage.filter((u) => KNOWN_EKUS.has(u));
    remaining = remaining.filter((u) => known.includes(u));
    if (remaining.length === 0) return false;
  }
  return true;
}

function displayName(cert: Certificate): string {
  if (cert.subject.commonName) return cert.subject.commonName;
  if (cert.subject.organization.length > 0) return cert.subject.organization[0];
  return `serial:${cert.serial.toString()}`;
}

/** Bounds the search, as Go's maxChainSignatureChecks. */
const MAX_SIGNATURE_CHECKS = 100;

/**
 * Go's Certificate.Verify: the chains from `leaf` to one of the roots through the
 * intermediates, each certificate valid at `at`, issuers being CAs within their path length,
 * allowing the requested key usages. Throws CertificateError with Go's message.
 */
export function verifyCertificateChain(leaf: Certificate, options: ChainOptions): Certificate[][] {
  if (leaf.unhandledCritical.length > 0) throw new CertificateError('x509: unhandled critical extension');
  const leafInvalid = validityError(leaf, options.at);
  if (leafInvalid) throw new CertificateError(leafInvalid);
  if (options.roots.some((r) => equalBytes(r.raw, leaf.raw))) return [[leaf]];
  let checks = 0;
  let hint: { error: string; cert: Certificate } | undefined;
  let firstError: string | undefined;
  const build = (chain: Certificate[]): Certificate[][] => {
    const current = chain[chain.length - 1];
    const out: Certificate[][] = [];
    const candidates = [
      ...options.roots.map((c) => ({ c, root: true })),
      ...options.intermediates.map((c) => ({ c, root: false })),
    ].filter(({ c }) => equalBytes(c.rawSubject, current.rawIssuer));
    for (const { c, root } of candidates) {
      if (chain.some((x) => equalBytes(x.raw, c.raw))) continue;
      if (++checks > MAX_SIGNATURE_CHECKS) throw new CertificateError('x509: signature check attempts limit reached while verifying certificate chain');
      const sigError = checkSignatureFrom(current, c);
      if (sigError) {
        hint ??= { error: sigError, cert: c };
        continue;
      }
      const invalid = validityError(c, options.at)
        ?? (!root && (!c.basicConstraintsValid || !c.isCA) ? 'x509: certificate is not authorized to sign other certificates' : null)
        ?? (c.basicConstraintsValid && c.maxPathLen >= 0 && chain.length - 1 > c.maxPathLen ? 'x509: too many intermediates for path length constraint' : null);
      if (invalid) {
        firstError ??= invalid;
        continue;
      }
      if (root) out.push([...chain, c]);
      else out.push(...build([...chain, c]));
    }
    return out;
  };
  const chains = build([leaf]);
  if (chains.length === 0) {
    if (firstError) throw new CertificateError(firstError);
    let message = 'x509: certificate signed by unknown authority';
    if (hint) message += ` (possibly because of ${JSON.stringify(hint.error)} while trying to verify candidate authority certificate ${JSON.stringify(displayName(hint.cert))})`;
    throw new CertificateError(message);
  }
  const usable = options.keyUsages.length === 0 ? chains : chains.filter((c) => chainAllows(c, options.keyUsages));
  if (usable.length === 0) throw new CertificateError('x509: certificate specifies an incompatible key usage');
  return usable;
}

/** sigstore's cryptoutils.GetSubjectAlternateNames: DNS names, emails, IP addresses, URIs, then Fulcio's OtherName. */
export function subjectAlternateNames(cert: Certificate): string[] {
  const out = [...cert.dnsNames, ...cert.emailAddresses, ...cert.ipAddresses, ...cert.uris];
  const otherName = fulcioOtherName(cert);
  if (otherName !== undefined) out.push(otherName);
  return out;
}

const OID_FULCIO_OTHERNAME = '1.3.6.1.4.1.57264.1.7';

/** The UTF8String of a SAN OtherName with Fulcio's OID (sigstore's UnmarshalOtherNameSAN). */
function fulcioOtherName(cert: Certificate): string | undefined {
  const san = cert.extensions.find((e) => e.oid === '2.5.29.17');
  if (!san) return undefined;
  try {
    for (const gn of readChildren(readDer(san.value))) {
      if (gn.tag !== 0xa0) continue;
      const [oid, explicit] = readChildren(gn);
      if (oid?.tag !== TAG.OID || oidString(oid.content) !== OID_FULCIO_OTHERNAME || !explicit) continue;
      const [value] = readChildren(explicit);
      if (value?.tag === TAG.UTF8_STRING) return utf8.decode(value.content);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** An extension's raw value as a string (cosign's CertExtensions read Fulcio's v1 OIDs this way). */
export function rawExtensionString(cert: Certificate, oid: string): string {
  const ext = cert.extensions.find((e) => e.oid === oid);
  return ext ? utf8.decode(ext.value) : '';
}

/** A DER UTF8String extension value (Fulcio's v2 OIDs, 1.3.6.1.4.1.57264.1.8 onwards); '' when absent or not a string. */
export function derStringExtension(cert: Certificate, oid: string): string {
  const ext = cert.extensions.find((e) => e.oid === oid);
  if (!ext) return '';
  try {
    return asn1String(readDer(ext.value));
  } catch {
    return '';
  }
}
