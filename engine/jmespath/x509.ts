/**
 * x509_decode: PEM -> Go x509.Certificate / x509.CertificateRequest as Kyverno JSON-encodes
 * them (RSA keys only, PublicKey replaced by {N, E}). Common fields are decoded; rarely
 * used extensions (name constraints, policies, AIA, CRL points) stay at Go's zero values.
 */
import { base64Decode, base64Encode, JmespathError } from './go-compat';
import { asn1String, asn1Time, bigIntOf, bitStringBytes, DerError, readChildren as children, type DerNode, oidArcs, oidString, readDer } from '../crypto/der';

const PEM = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/;

const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1, '1.2.840.113549.1.1.4': 2, '1.2.840.113549.1.1.5': 3,
  '1.2.840.113549.1.1.11': 4, '1.2.840.113549.1.1.12': 5, '1.2.840.113549.1.1.13': 6,
  '1.2.840.10040.4.3': 7, '2.16.840.1.101.3.4.3.2': 8, '1.2.840.10045.4.1': 9,
  '1.2.840.10045.4.3.2': 10, '1.2.840.10045.4.3.3': 11, '1.2.840.10045.4.3.4': 12,
  '1.2.840.113549.1.1.10': 13, '1.3.101.112': 16,
};
const PUBLIC_KEY_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.1': 1, '1.2.840.10040.4.1': 2, '1.2.840.10045.2.1': 3, '1.3.101.112': 4,
};
const NAME_FIELDS: Record<string, string> = {
  '2.5.4.6': 'Country', '2.5.4.10': 'Organization', '2.5.4.11': 'OrganizationalUnit',
  '2.5.4.7': 'Locality', '2.5.4.8': 'Province', '2.5.4.9': 'StreetAddress', '2.5.4.17': 'PostalCode',
};
const EXT_KEY_USAGE: Record<string, number> = {
  '2.5.29.37.0': 0, '1.3.6.1.5.5.7.3.1': 1, '1.3.6.1.5.5.7.3.2': 2, '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4, '1.3.6.1.5.5.7.3.5': 5, '1.3.6.1.5.5.7.3.6': 6, '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8, '1.3.6.1.5.5.7.3.9': 9, '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11, '1.3.6.1.4.1.311.2.1.22': 12, '1.3.6.1.4.1.311.61.1.1': 13,
  '1.3.6.1.4.1.11129.2.4.4': 14,
};

type Json = Record<string, unknown>;

/** pkix.Name after FillFromRDNSequence, as encoding/json prints it. */
function decodeName(node: DerNode): Json {
  const name: Json = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null,
    StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: '', Names: [], ExtraNames: null,
  };
  const names: Json[] = [];
  for (const rdn of children(node)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      const oid = oidString(type.content);
      const text = asn1String(value);
      names.push({ Type: oidArcs(type.content), Value: text });
      if (oid === '2.5.4.3') name.CommonName = text;
      else if (oid === '2.5.4.5') name.SerialNumber = text;
      else if (NAME_FIELDS[oid]) {
        const field = NAME_FIELDS[oid];
        name[field] = [...((name[field] as string[] | null) ?? []), text];
      }
    }
  }
  name.Names = names;
  return name;
}

function rsaPublicKey(spki: DerNode): { N: string; E: number } {
  const [, key] = children(spki);
  const seq = readDer(bitStringBytes(key));
  const [n, e] = children(seq);
  return { N: bigIntOf(n.content).toString(), E: Number(bigIntOf(e.content)) };
}

function algorithmOid(node: DerNode): string {
  return oidString(children(node)[0].content);
}

const b64 = (bytes: Uint8Array) => base64Encode(bytes);

interface ParsedExtensions {
  list: Json[];
  fields: Json;
}

function decodeExtensions(exts: DerNode[]): ParsedExtensions {
  const fields: Json = {};
  const list = exts.map((ext) => {
    const parts = children(ext);
    const id = parts[0];
    const critical = parts.length === 3 && parts[1].tag === 0x01 && parts[1].content[0] !== 0;
    const value = parts[parts.length - 1].content;
    applyExtension(oidString(id.content), value, fields);
    return { Id: oidArcs(id.content), Critical: critical, Value: b64(value) };
  });
  return { list, fields };
}

function applyExtension(oid: string, value: Uint8Array, fields: Json): void {
  const node = readDer(value);
  switch (oid) {
    case '2.5.29.17': { // subjectAltName
      const uris: Json[] = [];
      for (const gn of children(node)) {
        const push = (key: string, v: string) => (fields[key] = [...((fields[key] as string[]) ?? []), v]);
        if (gn.tag === 0x82) push('DNSNames', new TextDecoder().decode(gn.content));
        else if (gn.tag === 0x81) push('EmailAddresses', new TextDecoder().decode(gn.content));
        else if (gn.tag === 0x86) uris.push(uriJson(new TextDecoder().decode(gn.content)));
        else if (gn.tag === 0x87 && (gn.content.length === 4 || gn.content.length === 16)) push('IPAddresses', ipString(gn.content));
      }
      if (uris.length) fields.URIs = uris;
      break;
    }
    case '2.5.29.15': { // keyUsage
      const bits = bitStringBytes(node);
      let usage = 0;
      for (let i = 0; i < 9; i++) if (bits[i >> 3] & (0x80 >> (i & 7))) usage |= 1 << i;
      fields.KeyUsage = usage;
      break;
    }
    case '2.5.29.37': { // extKeyUsage
      for (const k of children(node)) {
        const id = oidString(k.content);
        if (id in EXT_KEY_USAGE) fields.ExtKeyUsage = [...((fields.ExtKeyUsage as number[]) ?? []), EXT_KEY_USAGE[id]];
        else fields.UnknownExtKeyUsage = [...((fields.UnknownExtKeyUsage as number[][]) ?? []), oidArcs(k.content)];
      }
      break;
    }
    case '2.5.29.19': { // basicConstraints
      const parts = children(node);
      fields.BasicConstraintsValid = true;
      fields.IsCA = parts.length > 0 && parts[0].tag === 0x01 && parts[0].content[0] !== 0;
      const len = parts.find((p) => p.tag === 0x02);
      fields.MaxPathLen = len ? Number(bigIntOf(len.content)) : -1;
      fields.MaxPathLenZero = fields.MaxPathLen === 0;
      break;
    }
    case '2.5.29.14':
      fields.SubjectKeyId = b64(node.content);
      break;
    case '2.5.29.35': { // authorityKeyIdentifier
      const keyId = children(node).find((p) => p.tag === 0x80);
      if (keyId) fields.AuthorityKeyId = b64(keyId.content);
      break;
    }
  }
}

/** net.IP.String(): dotted IPv4, RFC 5952 IPv6 (longest zero run compressed). */
function ipString(ip: Uint8Array): string {
  if (ip.length === 4) return Array.from(ip).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i] << 8) | ip[i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return Array.from(ip.subarray(12)).join('.');
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

/** url.URL as encoding/json prints it (approximation from the WHATWG parser). */
function uriJson(text: string): Json {
  let u: URL | null = null;
  try {
    u = new URL(text);
  } catch {
    u = null;
  }
  return {
    Scheme: u ? u.protocol.replace(/:$/, '') : '', Opaque: '', User: null, Host: u ? u.host : '',
    Path: u ? decodeURIComponent(u.pathname) : text, RawPath: '', OmitHost: false, ForceQuery: false,
    RawQuery: u ? u.search.replace(/^\?/, '') : '', Fragment: u ? decodeURIComponent(u.hash.replace(/^#/, '')) : '', RawFragment: '',
  };
}

const SAN_DEFAULTS: Json = { DNSNames: null, EmailAddresses: null, IPAddresses: null, URIs: null };

function decodeCertificate(der: Uint8Array): Json {
  const cert = readDer(der);
  const [tbs, sigAlg, sig] = children(cert);
  const tbsParts = children(tbs);
  let i = 0;
  let version = 1;
  if (tbsParts[0].tag === 0xa0) version = Number(bigIntOf(children(tbsParts[i++])[0].content)) + 1;
  const serial = tbsParts[i++];
  i++; // signature algorithm inside TBS
  const issuer = tbsParts[i++];
  const [notBefore, notAfter] = children(tbsParts[i++]);
  const subject = tbsParts[i++];
  const spki = tbsParts[i++];
  const extWrapper = tbsParts.slice(i).find((p) => p.tag === 0xa3);
  const exts = extWrapper ? decodeExtensions(children(children(extWrapper)[0])) : { list: [], fields: {} };
  const publicKeyAlgorithm = PUBLIC_KEY_ALGORITHMS[algorithmOid(children(spki)[0])] ?? 0;
  if (publicKeyAlgorithm !== 1) throw new JmespathError('certificate should use rsa algorithm');
  return {
    Raw: b64(cert.raw), RawTBSCertificate: b64(tbs.raw), RawSubjectPublicKeyInfo: b64(spki.raw),
    RawSubject: b64(subject.raw), RawIssuer: b64(issuer.raw), Signature: b64(bitStringBytes(sig)),
    SignatureAlgorithm: SIGNATURE_ALGORITHMS[algorithmOid(sigAlg)] ?? 0, PublicKeyAlgorithm: publicKeyAlgorithm,
    PublicKey: rsaPublicKey(spki), Version: version, SerialNumber: Number(bigIntOf(serial.content)),
    Issuer: decodeName(issuer), Subject: decodeName(subject),
    NotBefore: asn1Time(notBefore), NotAfter: asn1Time(notAfter), KeyUsage: 0,
    Extensions: exts.list.length ? exts.list : null, ExtraExtensions: null, UnhandledCriticalExtensions: null,
    ExtKeyUsage: null, UnknownExtKeyUsage: null, BasicConstraintsValid: false, IsCA: false,
    MaxPathLen: 0, MaxPathLenZero: false, SubjectKeyId: null, AuthorityKeyId: null,
    OCSPServer: null, IssuingCertificateURL: null, ...SAN_DEFAULTS,
    PermittedDNSDomainsCritical: false, PermittedDNSDomains: null, ExcludedDNSDomains: null,
    PermittedIPRanges: null, ExcludedIPRanges: null, PermittedEmailAddresses: null, ExcludedEmailAddresses: null,
    PermittedURIDomains: null, ExcludedURIDomains: null, CRLDistributionPoints: null, PolicyIdentifiers: null,
    Policies: null, InhibitAnyPolicy: 0, InhibitAnyPolicyZero: false, InhibitPolicyMapping: 0,
    InhibitPolicyMappingZero: false, RequireExplicitPolicy: 0, RequireExplicitPolicyZero: false, PolicyMappings: null,
    ...exts.fields,
  };
}

function decodeCertificateRequest(der: Uint8Array): Json {
  const csr = readDer(der);
  const [info, sigAlg, sig] = children(csr);
  const [version, subject, spki, attrs] = children(info);
  const publicKeyAlgorithm = PUBLIC_KEY_ALGORITHMS[algorithmOid(children(spki)[0])] ?? 0;
  if (publicKeyAlgorithm !== 1) throw new JmespathError('certificate should use rsa algorithm');
  let exts: ParsedExtensions = { list: [], fields: {} };
  for (const attr of attrs ? children(attrs) : []) {
    const [type, values] = children(attr);
    if (oidString(type.content) === '1.2.840.113549.1.9.14') exts = decodeExtensions(children(children(values)[0]));
  }
  return {
    Raw: b64(csr.raw), RawTBSCertificateRequest: b64(info.raw), RawSubjectPublicKeyInfo: b64(spki.raw),
    RawSubject: b64(subject.raw), Version: Number(bigIntOf(version.content)), Signature: b64(bitStringBytes(sig)),
    SignatureAlgorithm: SIGNATURE_ALGORITHMS[algorithmOid(sigAlg)] ?? 0, PublicKeyAlgorithm: publicKeyAlgorithm,
    PublicKey: rsaPublicKey(spki), Subject: decodeName(subject), Attributes: null,
    Extensions: exts.list.length ? exts.list : null, ExtraExtensions: null,
    ...SAN_DEFAULTS,
    DNSNames: exts.fields.DNSNames ?? null, EmailAddresses: exts.fields.EmailAddresses ?? null,
    IPAddresses: exts.fields.IPAddresses ?? null, URIs: exts.fields.URIs ?? null,
  };
}

export function x509Decode(input: string): Json {
  const block = PEM.exec(input);
  if (!block) throw new JmespathError('failed to decode PEM block');
  const type = block[1];
  if (type !== 'CERTIFICATE' && type !== 'CERTIFICATE REQUEST') {
    throw new JmespathError('PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST');
  }
  let der: Uint8Array;
  try {
    der = base64Decode(block[2].replace(/[\r\n\t ]/g, ''));
  } catch {
    throw new JmespathError('failed to decode PEM block');
  }
  try {
    return type === 'CERTIFICATE' ? decodeCertificate(der) : decodeCertificateRequest(der);
  } catch (e) {
    if (e instanceof JmespathError) throw e;
    // The validity reader names its own field; other structural errors are Go's generic one.
    if (e instanceof DerError && e.message.startsWith('x509: ')) throw new JmespathError(e.message);
    throw new JmespathError('x509: malformed certificate');
  }
}
