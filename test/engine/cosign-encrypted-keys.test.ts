/**
 * The test signer's reader of cosign's encrypted private keys, checked on keys that Go's
 * golang.org/x/crypto wrote (test/fixtures/cosign-keys): scrypt + NaCl secretbox over PKCS#8.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from 'node:crypto';
import { verifySignature } from '../../engine/crypto';
import { COSIGN_PRIVATE_KEY, generateEncryptedCosignKey, readEncryptedCosignKey } from '../registry/cosign-keys';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'cosign-keys', name), 'utf8');
const message = Buffer.from('{"critical":{}}');

describe('cosign encrypted private keys', () => {
  it('decrypts keys written by Go (SIGSTORE with a password, COSIGN with none) into the pair of their public key', () => {
    for (const [key, pub, password] of [['sigstore.key', 'sigstore.pub', 'correct horse'], ['cosign.key', 'cosign.pub', '']]) {
      const privateKey = readEncryptedCosignKey(fixture(key), password);
      const outcome = verifySignature(fixture(pub), message, sign('sha256', message, privateKey));
      assert.equal(outcome.verified, true, `${key}: ${outcome.error}`);
    }
  });

  it('refuses a wrong password, another PEM type and a damaged box with cosign\'s messages', () => {
    assert.throws(() => readEncryptedCosignKey(fixture('sigstore.key'), 'wrong'), { message: 'decrypt: encrypted: decryption failed' });
    assert.throws(() => readEncryptedCosignKey(fixture('sigstore.pub'), ''), { message: 'unsupported pem type: PUBLIC KEY' });
    assert.throws(() => readEncryptedCosignKey('nothing', ''), { message: 'invalid pem block' });
    const pem = fixture('cosign.key');
    const body = JSON.parse(Buffer.from(pem.split('\n').slice(1, -2).join(''), 'base64').toString());
    const bytes = Buffer.from(body.ciphertext, 'base64');
    bytes[bytes.length - 1] ^= 1;
    body.ciphertext = bytes.toString('base64');
    const damaged = `-----BEGIN ${COSIGN_PRIVATE_KEY}-----\n${Buffer.from(JSON.stringify(body)).toString('base64')}\n-----END ${COSIGN_PRIVATE_KEY}-----\n`;
    assert.throws(() => readEncryptedCosignKey(damaged, ''), { message: 'decrypt: encrypted: decryption failed' });
  });

  it('writes keys it reads back, in the SIGSTORE type by default', () => {
    const { privateKeyPem, publicKeyPem } = generateEncryptedCosignKey('pw');
    assert.match(privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const privateKey = readEncryptedCosignKey(privateKeyPem, 'pw');
    assert.equal(verifySignature(publicKeyPem, message, sign('sha256', message, privateKey)).verified, true);
  });
});
