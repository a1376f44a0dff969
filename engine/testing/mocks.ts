/**
 * A Test's mocks of the outside world (cli.kyverno.io/v1alpha1 Test): `apiCallResponses`
 * answer classic apiCall entries and CEL http calls; `globalContextEntries` stand in for
 * GlobalContextEntry resources (data, inline resources or resource files, with an optional
 * fieldPath and projections). Checked and resolved as the Kyverno CLI does before it runs the
 * test; a bad entry fails the whole test with Kyverno's message.
 */
import type { ApiCallResponse, JsonObject } from '../core/types';
import { isJsonObject } from '../core/json';
import { jmesSearch } from '../jmespath';
import { InputError } from './inputs';

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** Go's url.Parse is lenient; what Kyverno checks is an http(s) scheme and a host. */
function checkMockUrl(index: number, url: string): void {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new InputError(`apiCallResponses[${index}]: url "${url}" must be an absolute https/http URL`);
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    host = '';
  }
  if (!host) throw new InputError(`apiCallResponses[${index}]: url "${url}" has scheme but no host`);
}

function checkMock(index: number, raw: unknown): { url: string; method: string; status: number; body: JsonObject } {
  if (!isJsonObject(raw)) throw new InputError(`apiCallResponses[${index}]: must be an object`);
  const url = text(raw.url);
  const urlPath = text(raw.urlPath);
  if (!url && !urlPath) throw new InputError(`apiCallResponses[${index}]: either url or urlPath is required`);
  if (url && urlPath) throw new InputError(`apiCallResponses[${index}]: url and urlPath are mutually exclusive`);
  if (url) checkMockUrl(index, url);
  if (urlPath && !urlPath.startsWith('/')) throw new InputError(`apiCallResponses[${index}]: urlPath "${urlPath}" must be an absolute path starting with '/'`);
  const method = text(raw.method).toUpperCase();
  if (method && method !== 'GET' && method !== 'POST') throw new InputError(`apiCallResponses[${index}]: method must be GET or POST`);
  const label = url || urlPath;
  const response = isJsonObject(raw.response) ? raw.response : {};
  const body = response.body;
  if (body === undefined || body === null) throw new InputError(`apiCallResponses[${index}] "${label}": response.body is required`);
  if (!isJsonObject(body)) throw new InputError(`apiCallResponses[${index}] "${label}": response.body must be a JSON object`);
  const status = typeof response.statusCode === 'number' ? response.statusCode : 0;
  if (status !== 0 && (status < 100 || status > 599)) {
    throw new InputError(`apiCallResponses[${index}] "${label}": statusCode ${status} must be between 100 and 599`);
  }
  return { url: label, method, status: status || 200, body };
}

/** The Test's apiCallResponses, checked as Kyverno's ValidateAPICallResponses checks them. */
export function apiCallMocksOf(entries: readonly unknown[]): ApiCallResponse[] {
  const seen = new Set<string>();
  return entries.map((raw, i) => {
    const m = checkMock(i, raw);
    const key = m.method ? `${m.method}:${m.url}` : m.url;
    if (seen.has(key)) throw new InputError(`apiCallResponses: duplicate entry for "${m.url}" (key "${key}") — each method+url combination must be unique`);
    seen.add(key);
    const request: ApiCallResponse['request'] = m.url.startsWith('/') ? { urlPath: m.url } : { service: { url: m.url } };
    if (m.method) request.method = m.method;
    return { request, response: { status: m.status, body: m.body } };
  });
}

/** Reads the resources of a resource file named by a global context entry (path as written). */
export type ResourceFileReader = (path: string) => JsonObject[];


function checkResourceFilePath(name: string, index: number, file: unknown): string {
  const trimmed = text(file);
  if (!trimmed) throw new InputError(`globalContextEntries entry "${name}" resourceFiles[${index}]: file path must not be empty`);
  if (trimmed.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(trimmed)) {
    throw new InputError(`globalContextEntries entry "${name}" resourceFiles[${index}]: file path must not be absolute`);
  }
  // filepath.Clean, then: does it climb out of the test folder?
  const parts: string[] = [];
  for (const p of trimmed.replace(/\\/g, '/').split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else parts.push(p);
  }
  if (parts[0] === '..') throw new InputError(`globalContextEntries entry "${name}" resourceFiles[${index}]: file path must not escape the test directory`);
  return trimmed;
}

/**
 * Resource file paths the Test's globalContextEntries name (relative to the test folder);
 * paths Kyverno refuses (absolute, climbing out of the folder) are left out: never read.
 */
export function globalContextResourceFiles(entries: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (!isJsonObject(e) || !Array.isArray(e.resourceFiles)) continue;
    e.resourceFiles.forEach((f, i) => {
      try {
        out.push(checkResourceFilePath('', i, f));
      } catch {
        // Reported when the entries are resolved.
      }
    });
  }
  return out;
}

/** Kyverno's ValidateGlobalContextEntries: names, projections, exactly one source. */
function checkEntry(raw: unknown, seen: Set<string>): JsonObject {
  if (!isJsonObject(raw)) throw new InputError('globalContextEntries: each entry must be an object');
  const name = text(raw.name);
  if (!name) throw new InputError('globalContextEntries: name is required');
  if (seen.has(name)) throw new InputError(`globalContextEntries: duplicate name "${name}"`);
  seen.add(name);
  const label = String(raw.name);
  for (const p of Array.isArray(raw.projections) ? raw.projections : []) {
    const pj = isJsonObject(p) ? p : {};
    if (!text(pj.name)) throw new InputError(`globalContextEntries entry "${label}": projection name is required`);
    if (!text(pj.path)) throw new InputError(`globalContextEntries entry "${label}" projection "${String(pj.name)}": path is required`);
  }
  const hasData = raw.data !== undefined && raw.data !== null;
  const hasResources = raw.resources !== undefined && raw.resources !== null;
  const hasFiles = raw.resourceFiles !== undefined && raw.resourceFiles !== null;
  const sources = [hasData, hasResources, hasFiles].filter(Boolean).length;
  if (sources > 1) throw new InputError(`globalContextEntries entry "${label}": data, resources, and resourceFiles are mutually exclusive`);
  if (sources === 0) throw new InputError(`globalContextEntries entry "${label}": one of data, resources, or resourceFiles is required`);
  if (hasData && !isJsonObject(raw.data)) throw new InputError(`globalContextEntries entry "${label}": data must be a JSON object`);
  if (hasResources) {
    (Array.isArray(raw.resources) ? raw.resources : []).forEach((r, j) => {
      if (!isJsonObject(r)) throw new InputError(`globalContextEntries entry "${label}" resources[${j}]: must be a JSON object (Kubernetes resource manifest)`);
    });
  }
  if (hasFiles) (Array.isArray(raw.resourceFiles) ? raw.resourceFiles : []).forEach((f, j) => checkResourceFilePath(label, j, f));
  return raw;
}

function search(expression: string, data: unknown, what: string): unknown {
  try {
    return jmesSearch(expression, data);
  } catch (e) {
    throw new InputError(`${what}: ${(e as Error).message}`);
  }
}

/** fieldPath first, then each projection over the result (projections replace the value). */
function project(entry: JsonObject, root: unknown): unknown {
  const name = String(entry.name);
  let value = root;
  if (typeof entry.fieldPath === 'string' && entry.fieldPath !== '') value = search(entry.fieldPath, value, `globalContextEntries "${name}" fieldPath`);
  const projections = Array.isArray(entry.projections) ? (entry.projections.filter(isJsonObject) as JsonObject[]) : [];
  if (projections.length === 0) return value;
  const out: JsonObject = {};
  for (const p of projections) {
    out[String(p.name)] = search(String(p.path), value, `globalContextEntries "${name}" projection "${String(p.name)}" path "${String(p.path)}"`);
  }
  return out;
}

/**
 * The Test's globalContextEntries resolved to the value each name stands for: `data` as is,
 * `resources`/`resourceFiles` as the list of those objects; then fieldPath and projections.
 */
export function resolveGlobalContextEntries(entries: readonly unknown[], readFile: ResourceFileReader): Record<string, unknown> {
  const seen = new Set<string>();
  const checked = entries.map((e) => checkEntry(e, seen));
  const out: Record<string, unknown> = {};
  for (const entry of checked) {
    const name = String(entry.name);
    let root: unknown;
    if (Array.isArray(entry.resourceFiles)) {
      root = entry.resourceFiles.flatMap((f: unknown) => {
        try {
          return readFile(String(f).trim());
        } catch (e) {
          throw new InputError(`error: failed to load globalContextEntries resource files: globalContextEntries "${name}" resourceFiles "${String(f)}": ${(e as Error).message}`);
        }
      });
    } else if (Array.isArray(entry.resources)) root = entry.resources;
    else root = entry.data;
    out[name] = project(entry, root);
  }
  return out;
}
