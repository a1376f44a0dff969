/** The CBOR reader COSE envelopes use, against bytes written by the test signer's own writer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CborTag, decodeCbor, encodeCborStrings } from '../../engine/verify-images/cbor';
import { cbor } from '../registry/harness';

test('CBOR: integers, strings, arrays, maps and tags as plain values', () => {
  const bytes = cbor(new Map<number | string, never>([[1, -7 as never], ['k', ['a', Buffer.from([1, 2]), 70000] as never], [33, { tag: 1, value: 1700000000 } as never]]));
  const value = decodeCbor(new Uint8Array(bytes)) as Map<unknown, unknown>;
  assert.equal(value.get(1), -7);
  assert.deepEqual(value.get('k'), ['a', new Uint8Array([1, 2]), 70000]);
  assert.deepEqual(value.get(33), new CborTag(1, 1700000000));
  assert.deepEqual(decodeCbor(Buffer.from([0xf5])), true);
  assert.deepEqual(decodeCbor(Buffer.from([0xf9, 0x3c, 0x00])), 1);
});

test('CBOR: refuses trailing data, truncation, indefinite lengths and duplicate keys', () => {
  assert.throws(() => decodeCbor(Buffer.from([0x01, 0x02])), /trailing data/);
  assert.throws(() => decodeCbor(Buffer.from([0x43, 0x01])), /unexpected end|exceeds/);
  assert.throws(() => decodeCbor(Buffer.from([0x9f, 0xff])), /indefinite-length/);
  assert.throws(() => decodeCbor(Buffer.from([0xa2, 0x01, 0x01, 0x01, 0x02])), /duplicate CBOR map key/);
});

test('CBOR: the Sig_structure encoding matches an independent writer', () => {
  const payload = Buffer.alloc(300, 7);
  assert.deepEqual(Buffer.from(encodeCborStrings(['Signature1', Buffer.from([0xa0]), new Uint8Array(0), payload])), cbor(['Signature1', Buffer.from([0xa0]), Buffer.alloc(0), payload]));
});
