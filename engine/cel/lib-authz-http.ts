/**
 * HTTP authorization for ValidatingPolicies in `evaluation.mode: HTTP`, after kyverno-authz's
 * pkg/cel/libs/authz/http: `http.Allowed()`, `http.Denied(reason)`, `.Response()`, and the
 * request helpers `object.attributes.Header(name)` / `.QueryParam(name)`. The payload is the
 * CLI's http.CheckRequest, decoded like Go's encoding/json (field names match without regard
 * to case, unknown fields are ignored, absent ones are zero values).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { base64Decode } from '../jmespath/go-compat';
import { HttpLib } from './lib-cluster';
import { goJsonTypeName } from '../core/go-json';

type Values = Record<string, string[]>;

/** http.CheckRequestAttributes */
export class HttpCheckRequestAttributes {
  constructor(
    readonly method: string,
    readonly header: Values,
    readonly host: string,
    readonly protocol: string,
    readonly contentLength: bigint,
    readonly body: Uint8Array,
    readonly scheme: string,
    readonly path: string,
    readonly query: Values,
    readonly fragment: string,
  ) {}
}

/** http.CheckResponseOk */
export class HttpCheckResponseOk {}

/** http.CheckResponseDenied */
export class HttpCheckResponseDenied {
  constructor(readonly reason: string) {}
}

/** http.CheckResponse: exactly one of ok / denied is set. */
export class HttpCheckResponse {
  constructor(readonly ok: HttpCheckResponseOk | null, readonly denied: HttpCheckResponseDenied | null) {}
}

export class HttpPayloadError extends Error {}

function isTokenChar(c: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/.test(c);
}

/** net/textproto.CanonicalMIMEHeaderKey: `content-type` → `Content-Type`; keys with other characters stay as they are. */
export function canonicalMimeHeaderKey(key: string): string {
  if ([...key].some((c) => !isTokenChar(c))) return key;
  let upper = true;
  let out = '';
  for (const c of key) {
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/** Go's encoding/json: struct fields match keys case-insensitively (the exact name first). */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function stringField(obj: Record<string, unknown>, name: string, path: string): string {
  const v = field(obj, name);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(v)} into Go struct field ${path}.${name} of type string`);
  return v;
}

function valuesField(obj: Record<string, unknown>, name: string, path: string): Values {
  const v = field(obj, name);
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(v)} into Go struct field ${path}.${name} of type map[string][]string`);
  const out: Values = {};
  for (const [k, list] of Object.entries(v as Record<string, unknown>)) {
    if (list === null) {
      out[k] = [];
      continue;
    }
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
      throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(list)} into Go struct field ${path}.${name} of type []string`);
    }
    out[k] = list as string[];
  }
  return out;
}

/** The HTTP payload of `kyverno test` / `--http-payload` (Kyverno's LoadHTTPRequests). */
export function httpCheckRequestFromJson(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HttpPayloadError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(parsed)} into Go value of type http.CheckRequest`);
  const raw = field(parsed as Record<string, unknown>, 'attributes');
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(raw)} into Go struct field CheckRequest.attributes of type http.CheckRequestAttributes`);
  }
  const a = (raw ?? {}) as Record<string, unknown>;
  const at = 'CheckRequest.attributes';
  const length = field(a, 'contentLength');
  if (length !== undefined && length !== null && !(typeof length === 'number' && Number.isInteger(length))) {
    throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(length)} into Go struct field ${at}.contentLength of type int64`);
  }
  const bodyText = field(a, 'body');
  let body: Uint8Array = new Uint8Array();
  if (bodyText !== undefined && bodyText !== null) {
    if (typeof bodyText !== 'string') throw new HttpPayloadError(`json: cannot unmarshal ${goJsonTypeName(bodyText)} into Go struct field ${at}.body of type []uint8`);
    try {
      body = base64Decode(bodyText);
    } catch (err) {
      throw new HttpPayloadError(`${at}.body: ${(err as Error).message}`);
    }
  }
  return {
    attributes: new HttpCheckRequestAttributes(
      stringField(a, 'method', at),
      valuesField(a, 'header', at),
      stringField(a, 'host', at),
      stringField(a, 'protocol', at),
      BigInt(typeof length === 'number' ? length : 0),
      body,
      stringField(a, 'scheme', at),
      stringField(a, 'path', at),
      valuesField(a, 'query', at),
      stringField(a, 'fragment', at),
    ),
  };
}

/**
 * Registers the HTTP authorization library. `http` is already Kyverno's HTTP client library
 * (http.Get/Post) in the shared environment; `http.Allowed`/`http.Denied` are added to it,
 * which is how kyverno-authz's environment resolves both under one name.
 */
export function registerHttpAuthzLibrary(env: Environment): void {
  const ATTRS = 'http.CheckRequestAttributes';
  env
    .registerType(ATTRS, HttpCheckRequestAttributes)
    .registerType('http.CheckResponseOk', HttpCheckResponseOk)
    .registerType('http.CheckResponseDenied', HttpCheckResponseDenied)
    .registerType('http.CheckResponse', HttpCheckResponse)
    .registerFunction('HttpLib.Allowed(): http.CheckResponseOk', (_l: HttpLib) => new HttpCheckResponseOk())
    .registerFunction('HttpLib.Denied(string): http.CheckResponseDenied', (_l: HttpLib, reason: string) => new HttpCheckResponseDenied(reason))
    .registerFunction(`${ATTRS}.Header(string): list<string>`, (r: HttpCheckRequestAttributes, key: string) => r.header[canonicalMimeHeaderKey(key)] ?? [])
    .registerFunction(`${ATTRS}.QueryParam(string): list<string>`, (r: HttpCheckRequestAttributes, key: string) => r.query[key] ?? [])
    // dyn, so that `cond ? http.Denied("x").Response() : null` types (see lib-authz-envoy).
    .registerFunction('http.CheckResponseOk.Response(): dyn', (ok: HttpCheckResponseOk) => new HttpCheckResponse(ok, null))
    .registerFunction('http.CheckResponseDenied.Response(): dyn', (d: HttpCheckResponseDenied) => new HttpCheckResponse(null, d));
}
