/**
 * The shared CLI corpus's tests that need a public registry, reproduced against the local
 * one with the same kyverno-test.yaml expectations. The corpus folders are copied with
 * `ghcr.io` and Docker Hub's `library/solr` rewritten to the local registry; images like the
 * public ones are pushed (the same tags, single-arch or multi-arch as upstream, the config
 * fields the policies read). The corpus gives only the public key its images were signed
 * with, so the copies sign with a key generated here and carry its public key instead.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { testCommand } from '../../cli/commands/test';
import { newSigningKey, pushCosignSignatures, pushImage, pushIndex, startRegistry, type LocalRegistry, type SigningKey } from './harness';

const corpus = resolve(__dirname, '../../../shared/conformance/kyverno-cli');
const CORPUS_KEY = /-----BEGIN PUBLIC KEY-----\n(\s*)MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra\/N9sbqOPZrfM\n\s*5\/KAQN0\/KjHcorm\/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==\n\s*-----END PUBLIC KEY-----/g;

let registry: LocalRegistry;
let key: SigningKey;
let work: string;

/** Copies a corpus folder, pointing its images at the local registry and its key at ours. */
function localCopy(folder: string): string {
  const target = join(work, folder.replace(/\//g, '_'));
  cpSync(join(corpus, folder), target, { recursive: true });
  for (const name of readdirSync(target)) {
    const file = join(target, name);
    if (!statSync(file).isFile() || !/\.ya?ml$/.test(name)) continue;
    let text = readFileSync(file, 'utf8');
    text = text.replace(/ghcr\.io/g, registry.host);
    text = text.replace(/image: solr(:\S+)?$/gm, (_m, tag: string | undefined) => `image: ${registry.host}/library/solr${tag ?? ''}`);
    text = text.replace(CORPUS_KEY, (_m, indent: string) => key.publicKeyPem.trim().split('\n').join(`\n${indent}`));
    writeFileSync(file, text);
  }
  return target;
}

async function runTest(dir: string, flags: string[] = ['--registry']): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { out: (t: string) => (out += `${t}\n`), err: (t: string) => (out += `${t}\n`) };
  const code = await testCommand.run([dir, ...flags], io);
  return { code, out };
}

describe('CLI corpus image tests against the local registry', { skip: !statSync(corpus, { throwIfNoEntry: false }) && 'the shared corpus is absent' }, () => {
  before(async () => {
    registry = await startRegistry();
    key = newSigningKey();
    work = mkdtempSync(join(tmpdir(), 'ks-corpus-registry-'));
    const signed = await pushImage(registry.host, 'kyverno/test-verify-image', 'signed');
    await pushCosignSignatures(registry.host, 'kyverno/test-verify-image', signed, [{ key }]);
    await pushImage(registry.host, 'kyverno/test-verify-image', 'unsigned');
    // Docker Hub's solr runs as the solr user; solr:6 is an index over one image.
    await pushIndex(registry.host, 'library/solr', 'latest', ['amd64', 'arm64'], { container: { User: 'solr' } });
    await pushIndex(registry.host, 'library/solr', '6', ['amd64'], { container: { User: 'solr' } });
    // kyverno:v1.7.3 is multi-arch, runs as a non-root user and records its build sources (BuildKit).
    const buildinfo = Buffer.from(JSON.stringify({ frontend: 'dockerfile.v0', sources: [{ type: 'docker-image', ref: 'docker.io/library/golang:1.18', pin: 'sha256:0000000000000000000000000000000000000000000000000000000000000000' }] })).toString('base64');
    await pushIndex(registry.host, 'kyverno/kyverno', 'v1.7.3', ['amd64', 'arm64'], { top: { 'moby.buildkit.buildinfo.v1': buildinfo }, container: { User: '10001' } });
  });
  after(() => {
    registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const folder of ['test/images/signatures', 'test/images/verify-signature', 'registry']) {
    it(`${folder}: the expectations hold with --registry`, async () => {
      const dir = localCopy(folder);
      const { code, out } = await runTest(dir);
      assert.equal(code, 0, out);
      assert.match(out, /Test Summary: \d+ tests passed and 0 tests failed/, out);
    });
  }

  it('the same copies do not pass offline', async () => {
    const { code } = await runTest(localCopy('test/images/signatures'), []);
    assert.equal(code, 1);
  });
});
