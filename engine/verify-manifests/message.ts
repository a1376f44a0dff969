/**
 * The signed manifests carried in a resource's message annotation, found as
 * k8s-manifest-sigstore's BlobManifestFetcher finds them: base64, then gzip (skipped when the
 * data is not gzip), then either YAML documents or a tar.gz whose .yaml/.yml files hold them;
 * then the documents that correspond to the resource (FindManifestYAML).
 */
import { gzipDecompress } from '../cel/gzip';
import { readTar } from '../archive/tar';
import { base64Decode, formatFloatV } from '../jmespath/go-compat';
import { parseYamlDocuments } from '../loader';
import { groupVersion } from './config';
import { mask, ravel } from './mapnode';

/** An error Kyverno tells apart: no signature (fail), no message (fail), anything else (error). */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly kind: 'signatureNotFound' | 'messageNotFound' | 'other',
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** k8smnfutil.GzipDecompress: the input unchanged when it is not a valid gzip stream. */
export function gzipOrSame(data: Uint8Array): Uint8Array {
  try {
    return gzipDecompress(data);
  } catch {
    return data;
  }
}

/**
 * SplitConcatYAMLs on one text: the documents up to the first malformed one (the Go decoder
 * stops there). Returns whether it stopped early.
 */
function yamlDocuments(text: string): { docs: unknown[]; stopped: boolean } {
  const parsed = parseYamlDocuments(text, 'message');
  const firstError = parsed.errors.length > 0 ? Math.min(...parsed.errors.map((e) => e.line ?? 0)) : Infinity;
  const docs = parsed.documents.filter((d) => d.line < firstError).map((d) => d.value);
  return { docs, stopped: parsed.errors.length > 0 };
}

const decoder = new TextDecoder();

/** isK8sResourceYAML: the first document decodes as an unstructured object (it has a kind). */
function isResourceYaml(text: string): boolean {
  const { docs } = yamlDocuments(text);
  return docs.length > 0 && isObject(docs[0]) && typeof docs[0].kind === 'string' && docs[0].kind !== '';
}

/** filepath.Walk order: names compared directory level by directory level. */
function walkOrder(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function cleanPath(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** GetYAMLsInArtifact: the YAML texts in the message blob. */
function yamlTextsInArtifact(blob: Uint8Array): string[] {
  const isGzip = blob.length >= 2 && blob[0] === 0x1f && blob[1] === 0x8b;
  if (!isGzip) {
    const text = decoder.decode(blob);
    if (yamlDocuments(text).docs.length > 0) return [text];
  }
  let tarball: Uint8Array;
  try {
    tarball = gzipDecompress(blob);
  } catch (e) {
    throw new ManifestError(`gzip.NewReader() failed while decompressing tar gz: ${(e as Error).message}`, 'other');
  }
  let entries;
  try {
    entries = readTar(tarball);
  } catch (e) {
    throw new ManifestError(`tarReader.Next() failed while decompressing tar gz: ${(e as Error).message}`, 'other');
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    if (entry.name.startsWith('..')) continue; // CWE-22, as upstream
    if (entry.type === '5') continue;
    if (entry.type !== '0') throw new ManifestError(`faced uknown type ${entry.type} in ${entry.name} while decompressing tar gz`, 'other');
    files.set(cleanPath(entry.name), entry.data);
  }
  const texts: string[] = [];
  for (const path of [...files.keys()].sort(walkOrder)) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    const ext = base.includes('.') ? base.slice(base.lastIndexOf('.')) : '';
    if (ext !== '.yaml' && ext !== '.yml') continue;
    const text = decoder.decode(files.get(path)!);
    if (isResourceYaml(text)) texts.push(text);
  }
  return texts;
}

/** The documents of the message annotation (base64 of gzip of YAML or of a tar.gz). */
export function manifestsInMessage(base64Message: string): unknown[] {
  let gzipped: Uint8Array;
  try {
    gzipped = base64Decode(base64Message);
  } catch (e) {
    throw new ManifestError(`failed to decode base64 message in the annotation: ${(e as Error).message}`, 'other');
  }
  let texts: string[];
  try {
    texts = yamlTextsInArtifact(gzipOrSame(gzipped));
  } catch (e) {
    if (e instanceof ManifestError) throw new ManifestError(`failed to read YAMLs in the gzipped message: ${e.message}`, 'other');
    throw e;
  }
  // ConcatenateYAMLs then SplitConcatYAMLs: one stream that ends at the first bad document.
  const docs: unknown[] = [];
  for (const text of texts) {
    const { docs: found, stopped } = yamlDocuments(text);
    docs.push(...found);
    if (stopped) break;
  }
  return docs;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const meta = (o: Record<string, unknown>) => (isObject(o.metadata) ? o.metadata : {});

function identity(o: Record<string, unknown>) {
  const gv = groupVersion(str(o.apiVersion));
  return { group: gv?.group ?? '', kind: str(o.kind), name: str(meta(o).name), namespace: str(meta(o).namespace) };
}

/** fmt's %v of a leaf value. */
function goValueString(v: string | number | boolean): string {
  return typeof v === 'number' ? formatFloatV(v) : String(v);
}

const DEFAULT_MAX_CANDIDATES = 3;

/**
 * ManifestSearchByValue: rank the manifests by how many of the resource's leaf values they
 * share (longest values first, with upstream's early stop) and keep the best ones, at most 3.
 */
function searchByValue(candidates: Record<string, unknown>[], resource: Record<string, unknown>, ignoreFields: string[]): Record<string, unknown>[] {
  const objEntries = [...ravel(mask(resource, ignoreFields)).entries()].map(([k, v]) => [k, goValueString(v)] as const);
  objEntries.sort((a, b) => b[1].length - a[1].length);
  const tables = candidates.map((c) => ({ doc: c, table: ravel(mask(c, ignoreFields)), count: 0 }));
  const tenth = Math.floor(objEntries.length / 10);
  let lastMatched = -1;
  let sameCount = 0;
  for (let i = 0; i < objEntries.length; i++) {
    const [key, value] = objEntries[i];
    let matched = 0;
    for (const c of tables) {
      const v = c.table.get(key);
      if (v !== undefined && goValueString(v) === value) {
        c.count++;
        matched++;
      }
    }
    if (i > tenth && matched > 0 && matched < DEFAULT_MAX_CANDIDATES) {
      sameCount = matched === lastMatched ? sameCount + 1 : 0;
    }
    if (sameCount > tenth) break;
    lastMatched = matched;
  }
  tables.sort((a, b) => b.count - a.count);
  const best = tables.filter((t) => t.count === tables[0].count).slice(0, DEFAULT_MAX_CANDIDATES);
  return best.map((t) => t.doc);
}

/** FindManifestYAML: the manifests that may be the resource's, or none. */
export function findManifests(docs: unknown[], resource: Record<string, unknown>, ignoreFields: string[]): Record<string, unknown>[] {
  const obj = identity(resource);
  const sameKind = docs.filter((d): d is Record<string, unknown> => isObject(d) && str(d.kind) !== '' && str(d.kind) === obj.kind);
  if (sameKind.length === 0) return [];
  if (groupVersion(str(resource.apiVersion)) !== null) {
    const byName = sameKind.filter((d) => {
      const m = identity(d);
      return m.group === obj.group && m.kind === obj.kind && m.name === obj.name;
    });
    if (byName.length === 1) return [byName[0]];
    if (byName.length > 1) {
      const byNamespace = sameKind.find((d) => {
        const m = identity(d);
        return m.group === obj.group && m.kind === obj.kind && m.name === obj.name && m.namespace === obj.namespace;
      });
      return [byNamespace ?? byName[0]];
    }
  }
  return searchByValue(sameKind, resource, ignoreFields);
}
