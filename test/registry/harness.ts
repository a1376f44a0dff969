/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution) on a free
 * loopback port with filesystem storage in a temp dir, stopped by PID. Images and cosign
 * signatures are written through the registry's HTTP API, so no Docker is needed; the signer
 * here uses node:crypto and shares no code with the verifier.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { generateEncryptedCosignKey, readEncryptedCosignKey } from './cosign-keys';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalRegistry {
  /** host:port, as it appears in image references. */
  host: string;
  stop(): void;
}

/** Users the authenticated registries know (htpasswd and the token server alike). */
export const REGISTRY_USERS = { admin: 's3cret-pass', reader: 'reader-pass' } as const;
// bcrypt (cost 4) of admin's password: distribution's htpasswd accepts bcrypt only.
const ADMIN_BCRYPT = '$2b$04$Jx3xp5df1PSpDxTWqNFgauft/9jymnDrHLxo79cM..1uH2E9XwmoK';

export type RegistryAuth = 'none' | 'htpasswd' | 'token';

/** How the push helpers authenticate to a registry started with auth (by host). */
const pushAuthorization = new Map<string, (repo: string) => Promise<string>>();

async function pushHeaders(host: string, repo: string): Promise<Record<string, string>> {
  const auth = pushAuthorization.get(host);
  return auth ? { Authorization: await auth(repo) } : {};
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A token server for the distribution token protocol: checks basic credentials against
 * REGISTRY_USERS (admin may push, reader may pull, anonymous gets no access) and issues an
 * ES256 JWT whose x5c header carries the certificate the registry trusts.
 */
async function startTokenServer(dir: string, service: string, issuer: string): Promise<{ realm: string; certPath: string; server: Server }> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=ks-token-issuer'], { stdio: 'ignore' });
  const key = createPrivateKey(readFileSync(keyPath));
  const x5c = new X509Certificate(readFileSync(certPath)).raw.toString('base64');
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const header = req.headers.authorization ?? '';
    let user = '';
    if (header.startsWith('Basic ')) {
      const [u, p] = Buffer.from(header.slice(6), 'base64').toString().split(/:(.*)/s);
      if ((REGISTRY_USERS as Record<string, string>)[u] !== p) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    const access = [];
    for (const scope of url.searchParams.getAll('scope')) {
      const [type, name, actions] = scope.split(':');
      const wanted = (actions ?? '').split(',');
      const granted = user === 'admin' ? wanted : user === 'reader' ? wanted.filter((a) => a === 'pull') : [];
      if (granted.length > 0) access.push({ type, name, actions: granted });
    }
    const now = Math.floor(Date.now() / 1000);
    const head = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [x5c] }));
    const claims = base64url(JSON.stringify({ iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = sign('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${head}.${claims}.${base64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { realm: `http://127.0.0.1:${port}/token`, certPath, server };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRegistry(auth: RegistryAuth = 'none'): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  const authConfig: string[] = [];
  let tokenServer: Server | undefined;
  if (auth === 'htpasswd') {
    writeFileSync(join(dir, 'htpasswd'), `admin:${ADMIN_BCRYPT}\n`);
    authConfig.push('auth:', '  htpasswd:', '    realm: ks-registry', `    path: ${join(dir, 'htpasswd')}`);
  } else if (auth === 'token') {
    const token = await startTokenServer(dir, 'ks-registry', 'ks-token-issuer');
    tokenServer = token.server;
    authConfig.push('auth:', '  token:', `    realm: ${token.realm}`, '    service: ks-registry', '    issuer: ks-token-issuer', `    rootcertbundle: ${token.certPath}`);
  }
  writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...authConfig,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const host = `127.0.0.1:${port}`;
  const stop = () => {
    if (child.pid && child.exitCode === null) process.kill(child.pid);
    tokenServer?.close();
    pushAuthorization.delete(host);
    rmSync(dir, { recursive: true, force: true });
  };
  if (auth === 'htpasswd') pushAuthorization.set(host, async () => basic('admin', REGISTRY_USERS.admin));
  if (auth === 'token') {
    pushAuthorization.set(host, async (repo) => {
      const challenge = await fetch(`http://${host}/v2/`);
      const realm = /realm="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1] ?? '';
      const res = await fetch(`${realm}?service=ks-registry&scope=repository:${repo}:pull,push`, { headers: { Authorization: basic('admin', REGISTRY_USERS.admin) } });
      return `Bearer ${((await res.json()) as { token: string }).token}`;
    });
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200 || (auth !== 'none' && res.status === 401)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host, stop };
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function pushBlob(host: string, repo: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(bytes);
  const headers = await pushHeaders(host, repo);
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { ...headers, 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
  return { digest, size: bytes.length };
}

export async function pushManifest(host: string, repo: string, reference: string, manifest: { mediaType?: string; [key: string]: unknown }): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    body,
    headers: { ...(await pushHeaders(host, repo)), 'Content-Type': manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
  return sha256Digest(body);
}

/** Fields added to an image's config: at its top level and in its `config` (User, Env...). */
export interface ImageConfigExtra {
  top?: Record<string, unknown>;
  container?: Record<string, unknown>;
}

/** A tiny image (config blob, one layer, an OCI manifest) under `repo:tag`; returns its digest. */
export async function pushImage(host: string, repo: string, tag: string, content = `${repo}:${tag}`, architecture = 'amd64', extra: ImageConfigExtra = {}): Promise<string> {
  const config = await pushBlob(host, repo, Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...extra.top, config: { Labels: { content }, ...extra.container } })));
  const layer = await pushBlob(host, repo, Buffer.from(`layer of ${content}`));
  return pushManifest(host, repo, tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  });
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  /** The private key as `cosign generate-key-pair` writes it (encrypted), when it came from one. */
  encryptedPem?: string;
}

/** A signing key read from cosign's encrypted private key format (what users already have). */
export function signingKeyFromCosign(encryptedPem: string, password: string): SigningKey {
  const privateKey = readEncryptedCosignKey(encryptedPem, password);
  return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), encryptedPem };
}

/** A fresh key pair, made and read back in cosign's encrypted format as the signer uses it. */
export function newSigningKey(password = 'test'): SigningKey {
  return signingKeyFromCosign(generateEncryptedCosignKey(password).privateKeyPem, password);
}

/** cosign's simple-signing payload for an image digest. */
export function simpleSigningPayload(dockerReference: string, digest: string, annotations?: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: annotations ?? null,
  }));
}

/** The manifest cosign pushes under its `.sig`/`.att` tags: an empty image config and the given layers. */
async function pushCosignManifest(host: string, repo: string, tag: string, layers: object[]): Promise<void> {
  const config = await pushBlob(host, repo, Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] }, config: {} })));
  await pushManifest(host, repo, tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers,
  });
}

/**
 * Signs `digest` as `cosign sign --key` does (without the transparency log) and pushes the
 * signature manifest under `sha256-<hex>.sig`. Several signatures become several layers.
 * `claimedDigest` lets a test sign a payload naming another image.
 */
export async function pushCosignSignatures(
  host: string,
  repo: string,
  digest: string,
  signers: Array<{ key: SigningKey; claimedDigest?: string; annotations?: Record<string, string>; corrupt?: 'payload' | 'signature'; certificatePem?: string; chainPem?: string }>,
): Promise<void> {
  const layers = [];
  for (const { key, claimedDigest, annotations, corrupt, certificatePem, chainPem } of signers) {
    let payload = simpleSigningPayload(`${host}/${repo}`, claimedDigest ?? digest, annotations);
    let signature = sign('sha256', payload, key.privateKey).toString('base64');
    // A layer damaged after signing: bytes that no longer match, or a signature that is not base64.
    if (corrupt === 'payload') payload = Buffer.from(`${payload.toString().slice(0, 20)}garbage`);
    if (corrupt === 'signature') signature = '%%not base64%%';
    const blob = await pushBlob(host, repo, payload);
    const layerAnnotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': signature };
    // Keyless (cosign sign with Fulcio): the signing certificate and its chain ride along.
    if (certificatePem) layerAnnotations['dev.sigstore.cosign/certificate'] = certificatePem;
    if (chainPem) layerAnnotations['dev.sigstore.cosign/chain'] = chainPem;
    layers.push({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...blob, annotations: layerAnnotations });
  }
  await pushCosignManifest(host, repo, `${digest.replace(':', '-')}.sig`, layers);
}

/** A multi-arch image: one image per architecture and an OCI index over them under `repo:tag`. */
export async function pushIndex(host: string, repo: string, tag: string, architectures: string[] = ['amd64', 'arm64'], extra: ImageConfigExtra = {}): Promise<{ digest: string; children: Record<string, string> }> {
  const children: Record<string, string> = {};
  const manifests = [];
  for (const arch of architectures) {
    const digest = await pushImage(host, repo, `${tag}-${arch}`, `${repo}:${tag} for ${arch}`, arch, extra);
    children[arch] = digest;
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${digest}`, { method: 'HEAD', headers: { ...(await pushHeaders(host, repo)), Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: Number(res.headers.get('content-length')), platform: { architecture: arch, os: 'linux' } });
  }
  const digest = await pushManifest(host, repo, tag, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  return { digest, children };
}

/** An in-toto v0.1 statement about one image digest. */
export function inTotoStatement(subjectName: string, digest: string, predicateType: string, predicate: unknown): Buffer {
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType,
    subject: [{ name: subjectName, digest: { sha256: digest.replace(/^sha256:/, '') } }],
    predicate,
  }));
}

/** DSSE's PAE, written out here independently of the verifier. */
function pae(payloadType: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `), body]);
}

/** A DSSE envelope over an in-toto statement, signed as `cosign attest --key` does. */
export function dsseEnvelope(statement: Buffer, key: SigningKey, payloadType = 'application/vnd.in-toto+json'): Buffer {
  const sig = sign('sha256', pae(payloadType, statement), key.privateKey).toString('base64');
  return Buffer.from(JSON.stringify({ payloadType, payload: statement.toString('base64'), signatures: [{ keyid: '', sig }] }));
}

/**
 * Pushes attestations as cosign does: one DSSE layer per attestation in the manifest under
 * `sha256-<hex>.att`. `raw` lets a test push a layer's bytes as they are (a corrupt envelope).
 */
export async function pushAttestations(
  host: string,
  repo: string,
  digest: string,
  attestations: Array<{ key: SigningKey; predicateType: string; predicate: unknown; subjectDigest?: string } | { raw: Buffer; annotations?: Record<string, string> }>,
): Promise<void> {
  const layers = [];
  for (const a of attestations) {
    const bytes = 'raw' in a ? a.raw : dsseEnvelope(inTotoStatement(`${host}/${repo}`, a.subjectDigest ?? digest, a.predicateType, a.predicate), a.key);
    const blob = await pushBlob(host, repo, bytes);
    // A keyless attestation carries its certificate and chain as cosign writes them.
    const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': '', ...('raw' in a ? a.annotations : {}) };
    if (!('raw' in a)) annotations.predicateType = a.predicateType;
    layers.push({ mediaType: 'application/vnd.dsse.envelope.v1+json', ...blob, annotations });
  }
  await pushCosignManifest(host, repo, `${digest.replace(':', '-')}.att`, layers);
}

/**
 * A cosign signature stored as an OCI 1.1 referrer (`cosign sign --registry-referrers-mode
 * oci-1-1`): a manifest of artifact type application/vnd.dev.cosign.artifact.sig.v1+json whose
 * subject is the image, listed in the `sha256-<hex>` fallback index (the registry here has no
 * referrers API, so clients use the tag schema).
 */
export async function pushReferrerSignature(host: string, repo: string, digest: string, key: SigningKey): Promise<void> {
  const payload = simpleSigningPayload(`${host}/${repo}`, digest);
  const signature = sign('sha256', payload, key.privateKey).toString('base64');
  const blob = await pushBlob(host, repo, payload);
  const config = await pushBlob(host, repo, Buffer.from('{}'));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...blob, annotations: { 'dev.cosignproject.cosign/signature': signature } }],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 0 },
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const sigDigest = await pushManifest(host, repo, sha256Digest(body), manifest);
  await pushManifest(host, repo, digest.replace(':', '-'), {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sigDigest, size: body.length, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }],
  });
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
}

/** The descriptor of a manifest as the registry serves it (media type, digest, size). */
export async function manifestDescriptor(host: string, repo: string, reference: string): Promise<Descriptor> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } });
  if (!res.ok) throw new Error(`manifest ${repo}:${reference}: ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { mediaType: String(JSON.parse(bytes.toString()).mediaType), digest: sha256Digest(bytes), size: bytes.length };
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/**
 * Attaches an OCI 1.1 referrer (an artifact manifest whose `subject` is `subject`) with one
 * layer, and lists it in the referrers tag fallback (`sha256-<hex>`, an index): the registry
 * (distribution 2.8) has no referrers API, so clients fall back to that tag as the OCI spec says.
 */
export async function pushReferrer(
  host: string,
  repo: string,
  subject: Descriptor,
  artifactType: string,
  layer: { mediaType: string; bytes: Buffer },
): Promise<Descriptor> {
  const config = await pushBlob(host, repo, Buffer.from('{}'));
  const blob = await pushBlob(host, repo, layer.bytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType,
    config: { mediaType: OCI_EMPTY, ...config },
    layers: [{ mediaType: layer.mediaType, ...blob }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(host, repo, sha256Digest(body), manifest);
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest, size: body.length, artifactType };
  const tag = subject.digest.replace(':', '-');
  const existing = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { Accept: OCI_INDEX } });
  const index = existing.ok ? (JSON.parse(Buffer.from(await existing.arrayBuffer()).toString()) as { manifests: Descriptor[] }) : { manifests: [] };
  index.manifests.push(descriptor);
  await pushManifest(host, repo, tag, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: index.manifests });
  return descriptor;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** A Notary JWS envelope as `notation sign` writes it (JSON serialisation, ES256 with the leaf's P-256 key, the chain in x5c). */
export function notaryEnvelope(target: Descriptor, signer: { privateKey: KeyObject; chainDer: Buffer[] }, signingTime = new Date()): Buffer {
  const payload = b64url(Buffer.from(JSON.stringify({ targetArtifact: { mediaType: target.mediaType, digest: target.digest, size: target.size } })));
  const protectedHeader = b64url(Buffer.from(JSON.stringify({
    alg: 'ES256',
    crit: ['io.cncf.notary.signingScheme'],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': signingTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  })));
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${payload}`), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return Buffer.from(JSON.stringify({
    payload,
    protected: protectedHeader,
    header: { x5c: signer.chainDer.map((c) => c.toString('base64')), 'io.cncf.notary.signingAgent': 'kyverno-studio tests' },
    signature: b64url(signature),
  }));
}

/** Signs `target` with Notary and attaches the signature as a referrer of type application/vnd.cncf.notary.signature. */
export async function pushNotarySignature(
  host: string,
  repo: string,
  target: Descriptor,
  signer: { privateKey: KeyObject; chainDer: Buffer[] },
  signingTime = new Date(),
): Promise<void> {
  await pushReferrer(host, repo, target, 'application/vnd.cncf.notary.signature', { mediaType: 'application/jose+json', bytes: notaryEnvelope(target, signer, signingTime) });
}

/** A CBOR writer for the test signer (RFC 8949 definite lengths), independent of the verifier's reader. */
export type CborInput = number | string | Buffer | CborInput[] | Map<number | string, CborInput> | { tag: number; value: CborInput };

function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

export function cbor(value: CborInput): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([cborHead(4, value.length), ...value.map(cbor)]);
  if (value instanceof Map) return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  return Buffer.concat([cborHead(6, value.tag), cbor(value.value)]);
}

/**
 * A Notary COSE_Sign1 envelope as `notation sign --signature-format cose` writes it: tag 18,
 * protected headers (alg ES256 = -7, crit, content type, signing scheme, signing time as tag 1),
 * the chain in x5chain (33), the signature over Sig_structure ["Signature1", protected, h'', payload].
 */
export function notaryCoseEnvelope(target: Descriptor, signer: { privateKey: KeyObject; chainDer: Buffer[] }, signingTime = new Date(), options: { expiry?: Date } = {}): Buffer {
  const payload = Buffer.from(JSON.stringify({ targetArtifact: { mediaType: target.mediaType, digest: target.digest, size: target.size } }));
  const crit: CborInput[] = ['io.cncf.notary.signingScheme'];
  const headers = new Map<number | string, CborInput>([
    [1, -7],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', { tag: 1, value: Math.floor(signingTime.getTime() / 1000) }],
  ]);
  if (options.expiry) {
    crit.push('io.cncf.notary.expiry');
    headers.set('io.cncf.notary.expiry', { tag: 1, value: Math.floor(options.expiry.getTime() / 1000) });
  }
  headers.set(2, crit);
  const protectedBytes = cbor(headers);
  const toSign = cbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const signature = sign('sha256', toSign, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  const unprotected = new Map<number | string, CborInput>([[33, signer.chainDer], ['io.cncf.notary.signingAgent', 'kyverno-studio tests']]);
  return cbor({ tag: 18, value: [protectedBytes, unprotected, payload, signature] });
}
