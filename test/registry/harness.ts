/**
 * A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution) on a free
 * loopback port with filesystem storage in a temp dir, stopped by PID. Images and cosign
 * signatures are written through the registry's HTTP API, so no Docker is needed; the signer
 * here uses node:crypto and shares no code with the verifier.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { generateEncryptedCosignKey, readEncryptedCosignKey } from './cosign-keys';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalRegistry {
  /** host:port, as it appears in image references. */
  host: string;
  stop(): void;
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

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const host = `127.0.0.1:${port}`;
  const stop = () => {
    if (child.pid && child.exitCode === null) process.kill(child.pid);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`http://${host}/v2/`);
      if (res.status === 200) break;
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
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status}`);
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
  return { digest, size: bytes.length };
}

export async function pushManifest(host: string, repo: string, reference: string, manifest: object): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    body,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
  return sha256Digest(body);
}

/** A tiny image (config blob, one layer, an OCI manifest) under `repo:tag`; returns its digest. */
export async function pushImage(host: string, repo: string, tag: string, content = `${repo}:${tag}`): Promise<string> {
  const config = await pushBlob(host, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { content } } })));
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
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: null,
  }));
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
  signers: Array<{ key: SigningKey; claimedDigest?: string; certificatePem?: string; chainPem?: string }>,
): Promise<void> {
  const layers = [];
  for (const { key, claimedDigest, certificatePem, chainPem } of signers) {
    const payload = simpleSigningPayload(`${host}/${repo}`, claimedDigest ?? digest);
    const signature = sign('sha256', payload, key.privateKey).toString('base64');
    const blob = await pushBlob(host, repo, payload);
    const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': signature };
    // Keyless (cosign sign with Fulcio): the signing certificate and its chain ride along.
    if (certificatePem) annotations['dev.sigstore.cosign/certificate'] = certificatePem;
    if (chainPem) annotations['dev.sigstore.cosign/chain'] = chainPem;
    layers.push({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...blob, annotations });
  }
  const config = await pushBlob(host, repo, Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] }, config: {} })));
  await pushManifest(host, repo, `${digest.replace(':', '-')}.sig`, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers,
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
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index.manifests })),
    headers: { 'Content-Type': OCI_INDEX },
  });
  if (res.status !== 201) throw new Error(`referrers index push: ${res.status} ${await res.text()}`);
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
