/**
 * `jwt.Decode(token, key)`: kyverno-authz's JWT library (pkg/cel/libs/jwt). The token's
 * signature is checked against the key (a string key is a symmetric key, so HS256), its
 * claims come back as a google.protobuf.Struct (numbers are doubles, NumericDate claims their
 * Unix seconds) and `Valid` says whether exp/nbf/iat hold at the evaluation clock.
 * A string key is an HMAC key (jwx infers HS256/HS384/HS512 from it and uses the token's
 * `alg`); JWK sets (`jwt.Decode(token, jwks)`) and public-key algorithms are not implemented.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { base64Decode } from '../jmespath/go-compat';
import { hmac } from './hash';

/** kyverno-authz `jwt.Token`: the decoded claims (null when the token has none) and validity. */
export class JwtToken {
  constructor(readonly Claims: Record<string, unknown> | null, readonly Valid: boolean) {}
}

/** The `jwt` namespace of the authorization environments; holds the evaluation clock. */
export class JwtNamespace {
  constructor(readonly now: () => Date) {}
}

function base64UrlDecode(part: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new Error(`failed to parse token: invalid base64url ${what}`);
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  try {
    return base64Decode(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  } catch {
    throw new Error(`failed to parse token: invalid base64url ${what}`);
  }
}

function parseJsonSegment(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64UrlDecode(part, what)));
  } catch (err) {
    throw err instanceof Error && err.message.startsWith('failed to parse token') ? err : new Error(`failed to parse token: invalid ${what} JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`failed to parse token: ${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const NUMERIC_DATE_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/** A NumericDate claim as jwx reads it: a JSON number (or numeric string) of seconds. */
function numericDate(name: string, value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new Error(`failed to parse token: invalid value for ${name} key`);
  return Math.trunc(n);
}

/**
 * The claims as kyverno-authz hands them to CEL (a structpb.Struct built from jwx's typed
 * claims): dates become Unix seconds, `aud` is a []string, which structpb refuses.
 */
function claimsOf(payload: Record<string, unknown>): Record<string, unknown> | null {
  const keys = Object.keys(payload);
  if (keys.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = payload[key];
    if ((NUMERIC_DATE_CLAIMS as readonly string[]).includes(key)) out[key] = numericDate(key, value);
    else if (key === 'aud') throw new Error('proto: invalid type: []string');
    else if ((key === 'iss' || key === 'sub' || key === 'jti') && typeof value !== 'string') throw new Error(`failed to parse token: invalid value for ${key} key`);
    else out[key] = value;
  }
  return out;
}

/** jwt.Validate with jwx defaults: no skew, the clock truncated to seconds. */
function claimsValid(claims: Record<string, unknown> | null, now: Date): boolean {
  if (!claims) return true;
  const seconds = Math.floor(now.getTime() / 1000);
  if (typeof claims.exp === 'number' && !(seconds < claims.exp)) return false;
  if (typeof claims.nbf === 'number' && seconds < claims.nbf) return false;
  if (typeof claims.iat === 'number' && seconds < claims.iat) return false;
  return true;
}

const HMAC_ALGORITHMS: Record<string, 'SHA-256' | 'SHA-384' | 'SHA-512'> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/** Parses and verifies a compact JWS token with a symmetric key (kyverno-authz decode_string_string). */
export function decodeJwt(token: string, key: string, now: Date): JwtToken {
  if (key === '') throw new Error('failed to import key: empty key');
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('failed to parse token: invalid JWT (expected 3 segments)');
  const header = parseJsonSegment(parts[0], 'header');
  const payload = parseJsonSegment(parts[1], 'payload');
  const signature = base64UrlDecode(parts[2], 'signature');
  const alg = String(header.alg ?? '');
  const hash = HMAC_ALGORITHMS[alg];
  if (!hash) {
    throw new Error(`could not verify message using any of the signatures or keys (algorithm ${alg || 'none'} does not fit a symmetric key)`);
  }
  const signingInput = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  if (!constantTimeEqual(hmac(hash, new TextEncoder().encode(key), signingInput), signature)) {
    throw new Error('could not verify message using any of the signatures or keys');
  }
  const claims = claimsOf(payload);
  return new JwtToken(claims, claimsValid(claims, now));
}

// Decode returns dyn: policies write `cond ? jwt.Decode(t, k) : null` (see lib-authz-envoy).
export function registerJwtLibrary(env: Environment): void {
  env
    .registerType('jwt.Token', JwtToken)
    .registerType('JwtNamespace', JwtNamespace)
    .registerVariable('jwt', 'JwtNamespace')
    .registerFunction('JwtNamespace.Decode(string, string): dyn', (ns: JwtNamespace, token: string, key: string) => decodeJwt(token, key, ns.now()));
}
