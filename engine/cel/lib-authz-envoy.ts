/**
 * Envoy external authorization for ValidatingPolicies in `evaluation.mode: Envoy`, after
 * kyverno-authz's pkg/cel/libs/authz/envoy (the `envoy.*` builders) and the CLI's payload
 * loading (protojson of an envoy.service.auth.v3.CheckRequest).
 *
 * `object` is the CheckRequest with protobuf read semantics: every field the message declares
 * is present, unset ones at their default (empty string, 0, false, empty map or list, an empty
 * message), under its proto (snake_case) name. Difference from cel-go: `has()` on an unset
 * message field is true here. Builders return new values rather than editing the receiver.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { base64Decode } from '../jmespath/go-compat';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';

// ---------------------------------------------------------------------------------------
// Response builders (envoy.service.auth.v3 messages)

/** envoy.config.core.v3.HeaderValueOption */
export class EnvoyHeaderValueOption {
  constructor(
    readonly header: { key: string; value: string },
    readonly keep_empty_value = false,
  ) {}
}

/** envoy.config.core.v3.QueryParameter */
export class EnvoyQueryParameter {
  constructor(readonly key: string, readonly value: string) {}
}

/** envoy.service.auth.v3.OkHttpResponse */
export class EnvoyOkHttpResponse {
  constructor(
    readonly headers: EnvoyHeaderValueOption[] = [],
    readonly headers_to_remove: string[] = [],
    readonly response_headers_to_add: EnvoyHeaderValueOption[] = [],
    readonly query_parameters_to_set: EnvoyQueryParameter[] = [],
    readonly query_parameters_to_remove: string[] = [],
  ) {}

  with(change: Partial<Pick<EnvoyOkHttpResponse, 'headers' | 'headers_to_remove' | 'response_headers_to_add' | 'query_parameters_to_set' | 'query_parameters_to_remove'>>): EnvoyOkHttpResponse {
    const next = { ...this, ...change };
    return new EnvoyOkHttpResponse(next.headers, next.headers_to_remove, next.response_headers_to_add, next.query_parameters_to_set, next.query_parameters_to_remove);
  }
}

/** envoy.service.auth.v3.DeniedHttpResponse */
export class EnvoyDeniedHttpResponse {
  constructor(
    readonly status: { code: bigint },
    readonly headers: EnvoyHeaderValueOption[] = [],
    readonly body = '',
  ) {}
}

/** google.rpc.Status codes kyverno-authz sets on a CheckResponse. */
const GRPC_OK = 0n;
const GRPC_PERMISSION_DENIED = 7n;

/** envoy.service.auth.v3.CheckResponse */
export class EnvoyCheckResponse {
  constructor(
    readonly status: { code: bigint; message: string },
    readonly ok_response: EnvoyOkHttpResponse | null,
    readonly denied_response: EnvoyDeniedHttpResponse | null,
    readonly dynamic_metadata: Record<string, unknown> | null = null,
  ) {}
}

/** The `envoy` namespace constant of the Envoy environment. */
export class EnvoyNamespace {}

function header(key: string, value: string): EnvoyHeaderValueOption {
  return new EnvoyHeaderValueOption({ key, value });
}

export function registerEnvoyLibrary(env: Environment): void {
  env
    .registerType('envoy.config.core.v3.HeaderValueOption', EnvoyHeaderValueOption)
    .registerType('envoy.config.core.v3.QueryParameter', EnvoyQueryParameter)
    .registerType('envoy.service.auth.v3.OkHttpResponse', EnvoyOkHttpResponse)
    .registerType('envoy.service.auth.v3.DeniedHttpResponse', EnvoyDeniedHttpResponse)
    .registerType('envoy.service.auth.v3.CheckResponse', EnvoyCheckResponse)
    .registerType('EnvoyNamespace', EnvoyNamespace)
    .registerConstant('envoy', 'EnvoyNamespace', new EnvoyNamespace());
  const OK = 'envoy.service.auth.v3.OkHttpResponse';
  const DENIED = 'envoy.service.auth.v3.DeniedHttpResponse';
  const HEADER = 'envoy.config.core.v3.HeaderValueOption';
  const PARAM = 'envoy.config.core.v3.QueryParameter';
  // Response() returns dyn: policies write `cond ? envoy.Denied(403).Response() : null`,
  // which cel-js only types when the branch is dyn (cel-go accepts null for messages).
  env
    .registerFunction(`EnvoyNamespace.Allowed(): ${OK}`, () => new EnvoyOkHttpResponse())
    .registerFunction(`EnvoyNamespace.Denied(int): ${DENIED}`, (_ns: EnvoyNamespace, code: bigint) => new EnvoyDeniedHttpResponse({ code }))
    .registerFunction(`EnvoyNamespace.Header(string, string): ${HEADER}`, (_ns: EnvoyNamespace, k: string, v: string) => header(k, v))
    .registerFunction(`EnvoyNamespace.QueryParam(string, string): ${PARAM}`, (_ns: EnvoyNamespace, k: string, v: string) => new EnvoyQueryParameter(k, v))
    .registerFunction(`${DENIED}.WithBody(string): ${DENIED}`, (d: EnvoyDeniedHttpResponse, body: string) => new EnvoyDeniedHttpResponse(d.status, d.headers, body))
    .registerFunction(`${OK}.WithHeader(${HEADER}): ${OK}`, (ok: EnvoyOkHttpResponse, h: EnvoyHeaderValueOption) => ok.with({ headers: [...ok.headers, h] }))
    .registerFunction(`${OK}.WithHeader(string, string): ${OK}`, (ok: EnvoyOkHttpResponse, k: string, v: string) => ok.with({ headers: [...ok.headers, header(k, v)] }))
    .registerFunction(`${DENIED}.WithHeader(${HEADER}): ${DENIED}`, (d: EnvoyDeniedHttpResponse, h: EnvoyHeaderValueOption) => new EnvoyDeniedHttpResponse(d.status, [...d.headers, h], d.body))
    .registerFunction(`${DENIED}.WithHeader(string, string): ${DENIED}`, (d: EnvoyDeniedHttpResponse, k: string, v: string) => new EnvoyDeniedHttpResponse(d.status, [...d.headers, header(k, v)], d.body))
    .registerFunction(`${OK}.WithoutHeader(string): ${OK}`, (ok: EnvoyOkHttpResponse, k: string) => ok.with({ headers_to_remove: [...ok.headers_to_remove, k] }))
    .registerFunction(`${OK}.WithResponseHeader(${HEADER}): ${OK}`, (ok: EnvoyOkHttpResponse, h: EnvoyHeaderValueOption) => ok.with({ response_headers_to_add: [...ok.response_headers_to_add, h] }))
    .registerFunction(`${OK}.WithResponseHeader(string, string): ${OK}`, (ok: EnvoyOkHttpResponse, k: string, v: string) => ok.with({ response_headers_to_add: [...ok.response_headers_to_add, header(k, v)] }))
    .registerFunction(`${OK}.WithQueryParam(${PARAM}): ${OK}`, (ok: EnvoyOkHttpResponse, p: EnvoyQueryParameter) => ok.with({ query_parameters_to_set: [...ok.query_parameters_to_set, p] }))
    .registerFunction(`${OK}.WithQueryParam(string, string): ${OK}`, (ok: EnvoyOkHttpResponse, k: string, v: string) => ok.with({ query_parameters_to_set: [...ok.query_parameters_to_set, new EnvoyQueryParameter(k, v)] }))
    .registerFunction(`${OK}.WithoutQueryParam(string): ${OK}`, (ok: EnvoyOkHttpResponse, k: string) => ok.with({ query_parameters_to_remove: [...ok.query_parameters_to_remove, k] }))
    .registerFunction(`${HEADER}.KeepEmptyValue(): ${HEADER}`, (h: EnvoyHeaderValueOption) => new EnvoyHeaderValueOption(h.header, true))
    .registerFunction(`${HEADER}.KeepEmptyValue(bool): ${HEADER}`, (h: EnvoyHeaderValueOption, flag: boolean) => new EnvoyHeaderValueOption(h.header, flag))
    .registerFunction(`${OK}.Response(): dyn`, (ok: EnvoyOkHttpResponse) => new EnvoyCheckResponse({ code: GRPC_OK, message: '' }, ok, null))
    .registerFunction(`${DENIED}.Response(): dyn`, (d: EnvoyDeniedHttpResponse) => new EnvoyCheckResponse({ code: GRPC_PERMISSION_DENIED, message: '' }, null, d))
    .registerFunction('envoy.service.auth.v3.CheckResponse.WithMessage(string): dyn', (r: EnvoyCheckResponse, message: string) =>
      new EnvoyCheckResponse({ code: r.status.code, message }, r.ok_response, r.denied_response, r.dynamic_metadata))
    .registerFunction('envoy.service.auth.v3.CheckResponse.WithMetadata(map): dyn', (r: EnvoyCheckResponse, metadata: Record<string, unknown>) =>
      new EnvoyCheckResponse(r.status, r.ok_response, r.denied_response, metadata));
}

// ---------------------------------------------------------------------------------------
// The CheckRequest payload (protojson → CEL value with proto field names and defaults)

type FieldKind =
  | 'string' | 'bool' | 'int64' | 'uint32' | 'bytes' | 'timestamp' | 'struct' | 'any' | 'protocol'
  | { message: string } | { map: 'string' | 'struct' | 'any' } | { list: string };

type MessageSchema = Record<string, FieldKind>;

/** The envoy.service.auth.v3 CheckRequest messages (proto field names). */
const MESSAGES: Record<string, MessageSchema> = {
  CheckRequest: { attributes: { message: 'AttributeContext' } },
  AttributeContext: {
    source: { message: 'Peer' },
    destination: { message: 'Peer' },
    request: { message: 'Request' },
    context_extensions: { map: 'string' },
    metadata_context: { message: 'Metadata' },
    route_metadata_context: { message: 'Metadata' },
    tls_session: { message: 'TLSSession' },
  },
  Peer: {
    address: { message: 'Address' },
    service: 'string',
    labels: { map: 'string' },
    principal: 'string',
    certificate: 'string',
  },
  Address: {
    socket_address: { message: 'SocketAddress' },
    pipe: { message: 'Pipe' },
    envoy_internal_address: { message: 'EnvoyInternalAddress' },
  },
  SocketAddress: {
    protocol: 'protocol',
    address: 'string',
    port_value: 'uint32',
    named_port: 'string',
    resolver_name: 'string',
    ipv4_compat: 'bool',
  },
  Pipe: { path: 'string', mode: 'uint32' },
  EnvoyInternalAddress: { server_listener_name: 'string', endpoint_id: 'string' },
  Request: { time: 'timestamp', http: { message: 'HttpRequest' } },
  HttpRequest: {
    id: 'string',
    method: 'string',
    headers: { map: 'string' },
    header_map: { message: 'HeaderMap' },
    path: 'string',
    host: 'string',
    scheme: 'string',
    query: 'string',
    fragment: 'string',
    size: 'int64',
    protocol: 'string',
    body: 'string',
    raw_body: 'bytes',
  },
  HeaderMap: { headers: { list: 'HeaderValue' } },
  HeaderValue: { key: 'string', value: 'string', raw_value: 'bytes' },
  Metadata: { filter_metadata: { map: 'struct' }, typed_filter_metadata: { map: 'any' } },
  TLSSession: { sni: 'string' },
};

const PROTOCOLS = ['TCP', 'UDP'];

export class EnvoyPayloadError extends Error {}

/** protojson accepts a field's JSON name (lowerCamelCase) or its proto name. */
function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function integer(value: unknown, path: string, kind: string): bigint {
  const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  if (!/^-?\d+$/.test(text)) throw new EnvoyPayloadError(`invalid value for ${kind} field ${path}: ${JSON.stringify(value)}`);
  return BigInt(text);
}

function defaultOf(kind: FieldKind): unknown {
  if (typeof kind === 'string') {
    switch (kind) {
      case 'string': return '';
      case 'bool': return false;
      case 'int64': return 0n;
      case 'uint32': return new UnsignedInt(0n);
      case 'bytes': return new Uint8Array();
      case 'timestamp': return new Date(0);
      case 'protocol': return 0n;
      default: return {};
    }
  }
  if ('message' in kind) return decodeMessage(kind.message, {}, '');
  if ('map' in kind) return {};
  return [];
}

/** JSON as google.protobuf.Struct holds it: numbers are doubles. */
function structValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structValue);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = structValue(v);
    return out;
  }
  return value;
}

function decodeField(kind: FieldKind, value: unknown, path: string): unknown {
  if (value === null) return defaultOf(kind);
  if (typeof kind === 'string') {
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') throw new EnvoyPayloadError(`invalid value for string field ${path}: ${JSON.stringify(value)}`);
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw new EnvoyPayloadError(`invalid value for bool field ${path}: ${JSON.stringify(value)}`);
        return value;
      case 'int64':
        return integer(value, path, 'int64');
      case 'uint32': {
        const n = integer(value, path, 'uint32');
        if (n < 0n || n > 0xffffffffn) throw new EnvoyPayloadError(`invalid value for uint32 field ${path}: ${JSON.stringify(value)}`);
        return new UnsignedInt(n);
      }
      case 'bytes':
        if (typeof value !== 'string') throw new EnvoyPayloadError(`invalid value for bytes field ${path}: ${JSON.stringify(value)}`);
        try {
          const std = value.replace(/-/g, '+').replace(/_/g, '/');
          return base64Decode(std + '='.repeat(std.endsWith('=') ? 0 : (4 - (std.length % 4)) % 4));
        } catch {
          throw new EnvoyPayloadError(`invalid value for bytes field ${path}: ${JSON.stringify(value)}`);
        }
      case 'timestamp': {
        const t = typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value) ? new Date(value) : null;
        if (!t || Number.isNaN(t.getTime())) throw new EnvoyPayloadError(`invalid google.protobuf.Timestamp value for ${path}: ${JSON.stringify(value)}`);
        return t;
      }
      case 'protocol': {
        if (typeof value === 'string') {
          const i = PROTOCOLS.indexOf(value);
          if (i < 0) throw new EnvoyPayloadError(`invalid value for enum field ${path}: ${JSON.stringify(value)}`);
          return BigInt(i);
        }
        return integer(value, path, 'enum');
      }
      case 'struct':
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new EnvoyPayloadError(`invalid value for google.protobuf.Struct field ${path}`);
        return structValue(value);
      default:
        return structValue(value);
    }
  }
  if ('message' in kind) return decodeMessage(kind.message, value, path);
  if ('map' in kind) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new EnvoyPayloadError(`invalid value for map field ${path}`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeField(kind.map, v, `${path}.${k}`);
    return out;
  }
  if (!Array.isArray(value)) throw new EnvoyPayloadError(`invalid value for repeated field ${path}`);
  return value.map((v, i) => decodeField({ message: kind.list }, v, `${path}[${i}]`));
}

function decodeMessage(name: string, value: unknown, path: string): Record<string, unknown> {
  const schema = MESSAGES[name];
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new EnvoyPayloadError(`invalid value for message field ${path || name}: expected a JSON object`);
  }
  const given = value as Record<string, unknown>;
  const byName = new Map<string, string>();
  for (const field of Object.keys(schema)) {
    byName.set(field, field);
    byName.set(jsonName(field), field);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(given)) {
    const field = byName.get(key);
    if (!field) throw new EnvoyPayloadError(`unknown field "${key}"${path ? ` in ${path}` : ''}`);
    if (field in out) throw new EnvoyPayloadError(`duplicate field "${key}"${path ? ` in ${path}` : ''}`);
    out[field] = decodeField(schema[field], v, path ? `${path}.${field}` : field);
  }
  for (const [field, kind] of Object.entries(schema)) if (!(field in out)) out[field] = defaultOf(kind);
  return out;
}

/** An envoy.service.auth.v3.CheckRequest read from its protojson text (Kyverno's LoadEnvoyRequests). */
export function envoyCheckRequestFromJson(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EnvoyPayloadError(`proto: syntax error: ${(err as Error).message}`);
  }
  return decodeMessage('CheckRequest', parsed, '');
}
