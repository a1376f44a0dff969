/**
 * Names the editor offers: Kubernetes kinds (engine/kube), anchors, `{{ }}` variables and
 * functions (engine/jmespath), CEL variables and library functions.
 */
import { KNOWN_KINDS } from '../../../engine/kube';
import { FUNCTION_DOCS, type FunctionDoc } from '../../../engine/jmespath';
import type { AnchorModifier } from '../../../engine/anchor';

/** Kind names, once each: some kinds exist in several groups (Event, PolicyException). */
export function knownKinds(): string[] {
  return [...new Set(KNOWN_KINDS.map((k) => k.kind))];
}

/** The JMESPath functions Kyverno registers, by name. */
export const JMESPATH_FUNCTIONS: ReadonlyMap<string, FunctionDoc> = new Map(FUNCTION_DOCS.map((d) => [d.name, d]));

export const ANCHOR_DOCS: Record<AnchorModifier, string> = {
  '': 'Conditional anchor `(key)`: the rest of the pattern applies only when this field matches.',
  '=': 'Equality anchor `=(key)`: if the field is present, it must match.',
  X: 'Negation anchor `X(key)`: the field must not be present.',
  '^': 'Existence anchor `^(key)`: at least one list element must match.',
  '+': 'Add-if-not-present anchor `+(key)` (mutate): adds the field only when absent.',
  '<': 'Global anchor `<(key)`: when it does not match, the whole rule is skipped.',
};

export interface NamedDoc { name: string; detail: string; doc?: string }

export const REQUEST_FIELDS: NamedDoc[] = [
  { name: 'object', detail: 'object', doc: 'The resource in the request (null on DELETE).' },
  { name: 'oldObject', detail: 'object', doc: 'The existing resource (UPDATE, DELETE).' },
  { name: 'operation', detail: 'string', doc: 'CREATE, UPDATE, DELETE or CONNECT.' },
  { name: 'userInfo', detail: 'object', doc: 'The requesting user: username, uid, groups, extra.' },
  { name: 'roles', detail: 'array', doc: 'Roles bound to the requesting user.' },
  { name: 'clusterRoles', detail: 'array', doc: 'ClusterRoles bound to the requesting user.' },
  { name: 'namespace', detail: 'string', doc: 'Namespace of the request.' },
  { name: 'name', detail: 'string', doc: 'Name of the resource.' },
  { name: 'kind', detail: 'object', doc: 'Group/version/kind of the resource.' },
  { name: 'subResource', detail: 'string', doc: 'Subresource, when the request targets one.' },
  { name: 'dryRun', detail: 'boolean', doc: 'Whether the request is a dry run.' },
  { name: 'uid', detail: 'string', doc: 'Request UID.' },
];

export const TEMPLATE_ROOTS: NamedDoc[] = [
  { name: 'request', detail: 'AdmissionRequest', doc: 'The admission request: `request.object`, `request.operation`, ...' },
  { name: 'element', detail: 'foreach', doc: 'The current element of a foreach list.' },
  { name: 'elementIndex', detail: 'number', doc: 'Index of the current foreach element.' },
  { name: 'images', detail: 'object', doc: 'Images of the resource by container type: `images.containers.<name>.registry`, ...' },
  { name: 'serviceAccountName', detail: 'string', doc: 'Service account of the requester (admission only).' },
  { name: 'serviceAccountNamespace', detail: 'string', doc: 'Namespace of the requester service account (admission only).' },
  { name: '@', detail: 'any', doc: 'The current value (inside patterns: the field being checked).' },
];

export const CEL_ROOTS: NamedDoc[] = [
  { name: 'object', detail: 'object', doc: 'The resource being admitted (null on DELETE).' },
  { name: 'oldObject', detail: 'object', doc: 'The existing resource (UPDATE, DELETE).' },
  { name: 'request', detail: 'AdmissionRequest', doc: 'The admission request attributes.' },
  { name: 'params', detail: 'object', doc: 'The parameter resource, when paramKind is set.' },
  { name: 'namespaceObject', detail: 'Namespace', doc: 'The namespace of the resource.' },
  { name: 'variables', detail: 'object', doc: 'Values of spec.variables, by name.' },
  { name: 'authorizer', detail: 'Authorizer', doc: 'Authorization checks for the requester.' },
  { name: 'exceptions', detail: 'object', doc: 'Matching policy exceptions (allowedValues, allowedImages).' },
];

export const CEL_OBJECT_FIELDS: NamedDoc[] = [
  { name: 'apiVersion', detail: 'string' }, { name: 'kind', detail: 'string' }, { name: 'metadata', detail: 'ObjectMeta' },
  { name: 'spec', detail: 'object' }, { name: 'status', detail: 'object' }, { name: 'data', detail: 'map' },
];

const fn = (name: string, detail: string, doc: string): NamedDoc => ({ name, detail, doc });
export const CEL_FUNCTIONS: NamedDoc[] = [
  fn('has', 'has(e.f) bool', 'Whether the field is present.'),
  fn('size', 'size(list|map|string) int', 'Number of elements or characters.'),
  fn('matches', 'string.matches(regex) bool', 'RE2 regular expression match.'),
  fn('startsWith', 'string.startsWith(prefix) bool', 'Prefix test.'),
  fn('endsWith', 'string.endsWith(suffix) bool', 'Suffix test.'),
  fn('contains', 'string.contains(sub) bool', 'Substring test.'),
  fn('all', 'list.all(x, pred) bool', 'Whether every element satisfies pred.'),
  fn('exists', 'list.exists(x, pred) bool', 'Whether some element satisfies pred.'),
  fn('exists_one', 'list.exists_one(x, pred) bool', 'Whether exactly one element satisfies pred.'),
  fn('map', 'list.map(x, expr) list', 'Transforms every element.'),
  fn('filter', 'list.filter(x, pred) list', 'Keeps elements satisfying pred.'),
  fn('orValue', 'optional.orValue(default) T', 'The optional value or default.'),
  fn('hasValue', 'optional.hasValue() bool', 'Whether the optional holds a value.'),
  fn('lowerAscii', 'string.lowerAscii() string', 'Lower-cases ASCII letters.'),
  fn('upperAscii', 'string.upperAscii() string', 'Upper-cases ASCII letters.'),
  fn('split', 'string.split(sep) list(string)', 'Splits the string.'),
  fn('join', 'list(string).join(sep?) string', 'Joins strings.'),
  fn('replace', 'string.replace(old, new, n?) string', 'Replaces occurrences.'),
  fn('trim', 'string.trim() string', 'Removes surrounding whitespace.'),
  fn('indexOf', 'string.indexOf(sub) int', 'Index of sub or -1.'),
  fn('substring', 'string.substring(start, end?) string', 'Part of the string.'),
  fn('format', 'string.format(list) string', 'printf-style formatting.'),
  fn('int', 'int(v) int', 'Converts to int.'), fn('double', 'double(v) double', 'Converts to double.'),
  fn('string', 'string(v) string', 'Converts to string.'), fn('bool', 'bool(v) bool', 'Converts to bool.'),
  fn('duration', 'duration(string) duration', 'Parses a duration such as "1h".'),
  fn('timestamp', 'timestamp(string) timestamp', 'Parses an RFC 3339 timestamp.'),
  fn('quantity', 'quantity(string) Quantity', 'Kubernetes resource quantity.'),
  fn('isQuantity', 'isQuantity(string) bool', 'Whether the string is a quantity.'),
  fn('url', 'url(string) URL', 'Parses a URL.'), fn('ip', 'ip(string) IP', 'Parses an IP address.'),
  fn('cidr', 'cidr(string) CIDR', 'Parses a CIDR.'),
  fn('sets.contains', 'sets.contains(list, list) bool', 'Whether the first list contains all of the second.'),
  fn('sets.intersects', 'sets.intersects(list, list) bool', 'Whether the lists share an element.'),
  fn('regex.replace', 'regex.replace(target, pattern, replacement, count?) string', 'Replaces matches; `\\1`…`\\9` insert groups, a negative count replaces all.'),
  fn('regex.extract', 'regex.extract(target, pattern) optional(string)', 'The first match, or its one capturing group.'),
  fn('regex.extractAll', 'regex.extractAll(target, pattern) list(string)', 'Every match, or every value of its one capturing group.'),
  fn('resource.Get', 'resource.Get(apiVersion, resource, namespace, name) map', 'Kyverno: fetches a resource (null when not found; Namespaced* policies omit the namespace). Also resource.get.'),
  fn('resource.List', 'resource.List(apiVersion, resource, namespace, labels?) map', 'Kyverno: lists resources ("" namespace: all). Also resource.list.'),
  fn('resource.Post', 'resource.Post(apiVersion, resource, namespace?, object) map', 'Kyverno: creates a resource. Also resource.post.'),
  fn('http.Get', 'http.Get(url, headers?) any', 'Kyverno: HTTP GET call. Also http.get.'),
  fn('http.Post', 'http.Post(url, body, headers?) any', 'Kyverno: HTTP POST call. Also http.post.'),
  fn('globalContext.Get', 'globalContext.Get(entry, projection?) any', 'Kyverno: reads a GlobalContextEntry (null when unknown). Also globalContext.get.'),
  fn('parseImageReference', 'parseImageReference(string) kyverno.image', 'Kyverno: parses an image reference (registry(), repository(), identifier(), tag(), digest(), containsDigest()). `image(string)` is its deprecated alias.'),
  fn('isImage', 'isImage(string) bool', 'Kyverno: whether the string is an image reference.'),
  fn('image.GetMetadata', 'image.GetMetadata(ref) map', 'Kyverno: image metadata from the registry (offline: the test context\'s images). Also `image.getMetadata`.'),
  fn('json.unmarshal', 'json.unmarshal(string) any', 'Kyverno: parses JSON.'),
  fn('json.marshal', 'json.marshal(any) string', 'Kyverno: encodes a value as JSON.'),
  fn('yaml.parse', 'yaml.parse(string) any', 'Kyverno: parses YAML.'),
  fn('x509.decode', 'x509.decode(pem) map', 'Kyverno: decodes a PEM certificate or certificate request (RSA keys).'),
  fn('parseServiceAccount', 'parseServiceAccount(username) ServiceAccount', 'Kyverno: Namespace and Name of a "system:serviceaccount:ns:name" user. Also `user.parseServiceAccount`.'),
  fn('hash.sha256', 'hash.sha256(string) string', 'Kyverno: hex SHA-256 (also hash.sha1, hash.md5, and unprefixed sha256/sha1/md5).'),
  fn('random', 'random(pattern?) string', 'Kyverno: a random string matching the regular expression (default [0-9a-z]{8}). Also `random.random`.'),
  fn('listObjToMap', 'listObjToMap(keys, values, keyField, valueField) map', 'Kyverno: zips two lists of objects into a map. Also `transform.listObjToMap`.'),
  fn('gzip.compress', 'gzip.compress(string) bytes', 'Kyverno: gzip-compresses a string (gzip.decompress(bytes) string reverses it).'),
  fn('time.now', 'time.now() timestamp', 'Kyverno: the current time (also time.truncate(timestamp, duration), time.toCron(timestamp)).'),
  fn('math.round', 'math.round(double, int) double', 'Kyverno: rounds to the given number of decimal places.'),
  fn('format.named', 'format.named(name) ?Format', 'Kubernetes: a named format (dns1123Label, labelValue, uri, uuid, ...) whose validate(string) lists the problems.'),
];
