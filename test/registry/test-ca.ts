/**
 * A test certificate authority: roots, intermediates and Fulcio-like leaf certificates built
 * with a small DER writer of its own and signed with node:crypto (ECDSA P-256, SHA-256). It
 * shares no code with the engine's X.509 reader, so the two check each other.
 */
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export function der(tag: number, ...parts: Array<Uint8Array | number[]>): Buffer {
  const body = Buffer.concat(parts.map((p) => Buffer.from(p)));
  return Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]);
}

const seq = (...parts: Array<Uint8Array | number[]>) => der(0x30, ...parts);

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift((v & 0x7f) | (chunk.length ? 0x80 : 0));
      v = Math.floor(v / 128);
    } while (v > 0);
    out.push(...chunk);
  }
  return der(0x06, out);
}

function integer(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = [...Buffer.from(hex, 'hex')];
  if (bytes[0] & 0x80) bytes = [0, ...bytes];
  return der(0x02, bytes);
}

function time(d: Date): Buffer {
  const iso = d.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(text)) : der(0x18, Buffer.from(`${iso.slice(0, 4)}${text.slice(2)}`));
}

function name(commonName: string): Buffer {
  return seq(der(0x31, seq(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [der(0x01, [0xff])] : []), der(0x04, value));
}

export const OID = {
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

export interface IssuedCertificate {
  pem: string;
  der: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
  name: string;
}

export interface CertificateRequest {
  commonName: string;
  issuer?: IssuedCertificate;
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  email?: string;
  uri?: string;
  oidcIssuer?: string;
  /** Written in Fulcio's v2 form (a DER UTF8String under .1.8) as well as v1's raw form. */
  oidcIssuerV2?: string;
  extKeyUsage?: string[];
  extraExtensions?: Array<{ oid: string; value: Buffer }>;
  /** Sign with this key instead of the issuer's (a forged certificate). */
  signingKey?: KeyObject;
}

let serial = 1000n;

export function toPem(bytes: Buffer, type = 'CERTIFICATE'): string {
  const b64 = bytes.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/** Issues a certificate (self-signed without `issuer`). */
export function issue(req: CertificateRequest): IssuedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const notBefore = req.notBefore ?? new Date(now - 60_000);
  const notAfter = req.notAfter ?? new Date(now + 24 * 3600_000);
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const extensions: Buffer[] = [];
  if (req.ca) {
    extensions.push(extension('2.5.29.19', true, seq(der(0x01, [0xff]))));
    extensions.push(extension('2.5.29.15', true, der(0x03, [0x01, 0x06])));
  } else {
    extensions.push(extension('2.5.29.19', true, seq()));
    extensions.push(extension('2.5.29.15', true, der(0x03, [0x07, 0x80])));
    extensions.push(extension('2.5.29.37', false, seq(...(req.extKeyUsage ?? [OID.codeSigning]).map(oid))));
  }
  const sans: Buffer[] = [];
  if (req.email) sans.push(der(0x81, Buffer.from(req.email)));
  if (req.uri) sans.push(der(0x86, Buffer.from(req.uri)));
  if (sans.length) extensions.push(extension('2.5.29.17', true, seq(...sans)));
  if (req.oidcIssuer) extensions.push(extension(OID.fulcioIssuerV1, false, Buffer.from(req.oidcIssuer)));
  if (req.oidcIssuerV2) extensions.push(extension(OID.fulcioIssuerV2, false, der(0x0c, Buffer.from(req.oidcIssuerV2))));
  for (const e of req.extraExtensions ?? []) extensions.push(extension(e.oid, false, e.value));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    der(0xa0, integer(2n)),
    integer(serial++),
    ecdsaSha256,
    name(req.issuer?.name ?? req.commonName),
    seq(time(notBefore), time(notAfter)),
    name(req.commonName),
    spki,
    der(0xa3, seq(...extensions)),
  );
  const signer = req.signingKey ?? req.issuer?.privateKey ?? privateKey;
  const signature = sign('sha256', tbs, signer);
  const certDer = seq(tbs, ecdsaSha256, der(0x03, [0], signature));
  return { pem: toPem(certDer), der: certDer, privateKey, publicKey: createPublicKey(privateKey), name: req.commonName };
}

/** A root and an intermediate, as Fulcio's chain (intermediate first, root last). */
export function testAuthority(prefix = 'test'): { root: IssuedCertificate; intermediate: IssuedCertificate; chainPem: string } {
  const root = issue({ commonName: `${prefix}-root`, ca: true, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 365 * 24 * 3600_000) });
  const intermediate = issue({ commonName: `${prefix}-intermediate`, ca: true, issuer: root, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 180 * 24 * 3600_000) });
  return { root, intermediate, chainPem: intermediate.pem + root.pem };
}
