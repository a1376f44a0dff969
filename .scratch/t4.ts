import { createHmac, createHash } from 'node:crypto';
import { hmac, sha384Bytes, sha512Bytes, sha256Bytes } from '../engine/cel/hash';
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
for (const msg of ['', 'abc', 'x'.repeat(200)]) {
  const m = new TextEncoder().encode(msg);
  console.log(hex(sha512Bytes(m)) === createHash('sha512').update(msg).digest('hex'), hex(sha384Bytes(m)) === createHash('sha384').update(msg).digest('hex'), hex(sha256Bytes(m)) === createHash('sha256').update(msg).digest('hex'));
  for (const [a, n] of [['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512']] as const) for (const key of ['k', 'k'.repeat(150)])
    if (hex(hmac(a, new TextEncoder().encode(key), m)) !== createHmac(n, key).update(msg).digest('hex')) console.log('HMAC MISMATCH', a, key.length, msg.length);
}
