/**
 * Which tests need a public registry (or the internet) to be decided, read from their content:
 * image verification and image metadata of images the test's resources name, when the test
 * supplies no offline data for them. Such tests are reported apart, with the reason, not as
 * plain failures. Never from paths or names.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject } from '../core/json';
import { extractImages } from '../context/images';
import { classifyDocument, isObject } from '../loader/classify';
import { wildcardMatch } from '../wildcard/wildcard';
import { describedTest, toTestValues, type FileSource } from './inputs';

const LOCAL_REGISTRIES = new Set(['localhost', '127.0.0.1', '[::1]']);

function isRemote(reference: string): boolean {
  const host = reference.split('/')[0].replace(/:\d+$/, '');
  return !LOCAL_REGISTRIES.has(host);
}

/** Full references (registry added) of the container images of the resources. */
function imagesOf(resources: JsonObject[]): string[] {
  const out = new Set<string>();
  for (const r of resources) {
    for (const group of Object.values(extractImages(r))) {
      for (const info of Object.values(group)) if (info.reference) out.add(info.reference);
    }
  }
  return [...out];
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return asArray(v).filter((x): x is string => typeof x === 'string');
}

/** Context entries of a rule, its foreach blocks included, at any depth. */
function contextEntries(node: unknown, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) {
    for (const item of node) contextEntries(item, out);
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'context') out.push(...(asArray(value).filter(isObject) as JsonObject[]));
      else contextEntries(value, out);
    }
  }
  return out;
}

/** Names a test gives values to (values file, inline values, global values): such entries are not looked up. */
function suppliedNames(values: ReturnType<typeof toTestValues>[]): Set<string> {
  const names = new Set<string>();
  for (const v of values) {
    for (const k of Object.keys(v.globalValues ?? {})) names.add(k);
    for (const p of v.policies ?? []) {
      for (const r of [...(p.rules ?? []), ...(p.resources ?? [])]) for (const k of Object.keys(r.values ?? {})) names.add(k);
    }
  }
  return names;
}

function classicNeeds(policy: JsonObject, images: string[], supplied: Set<string>, offlineImages: boolean): string[] {
  const name = String(asObject(policy.metadata).name ?? '');
  const reasons: string[] = [];
  for (const rule of asArray(asObject(policy.spec).rules).filter(isObject) as JsonObject[]) {
    const ruleName = String(rule.name ?? '');
    for (const v of asArray(rule.verifyImages).filter(isObject) as JsonObject[]) {
      const refs = [...strings(v.imageReferences), ...strings(v.image)];
      const skip = strings(v.skipImageReferences);
      const hit = images.find((img) => refs.some((r) => wildcardMatch(r, img)) && !skip.some((s) => wildcardMatch(s, img)) && isRemote(img));
      if (hit) reasons.push(`verifyImages of ${name}/${ruleName} checks ${hit} in its registry`);
    }
    for (const entry of contextEntries(rule)) {
      const entryName = String(entry.name ?? '');
      if (isObject(entry.imageRegistry) && !supplied.has(entryName) && !offlineImages) {
        reasons.push(`context entry "${entryName}" of ${name}/${ruleName} reads image data from the registry, and the test supplies no value for it`);
      }
    }
  }
  return reasons;
}

const IMAGE_METADATA_CALL = /\b(?:image\.GetMetadata|imageData)\s*\(/;

function celNeeds(policy: JsonObject, images: string[], offlineImages: boolean): string[] {
  const kind = String(policy.kind ?? '');
  const name = String(asObject(policy.metadata).name ?? '');
  const reasons: string[] = [];
  if (kind.replace(/^Namespaced/, '') === 'ImageValidatingPolicy') {
    const refs = asArray(asObject(policy.spec).matchImageReferences).filter(isObject) as JsonObject[];
    const globs = refs.flatMap((r) => strings(r.glob));
    // A CEL expression entry is not evaluated here: it may match any image.
    const anyImage = refs.length === 0 || refs.some((r) => typeof r.expression === 'string');
    const hit = images.find((img) => isRemote(img) && (anyImage || globs.some((g) => wildcardMatch(g, img))));
    if (hit) reasons.push(`${kind} ${name} verifies ${hit} against its registry`);
  }
  if (!offlineImages && images.some(isRemote) && IMAGE_METADATA_CALL.test(JSON.stringify(policy.spec ?? {}))) {
    reasons.push(`${kind} ${name} reads image metadata from the registry, and the test gives no offline image data (a Context with images)`);
  }
  return reasons;
}

/**
 * Reasons a Test document needs the network, from the already-read files it names; empty
 * when it can be decided offline. Never throws: unreadable inputs contribute nothing.
 */
export function networkNeeds(path: string, doc: unknown, files: FileSource): string[] {
  const described = describedTest(path, doc, files);
  if (!described) return [];
  const { spec, documentsAt } = described;
  const policies = spec.policies.flatMap(documentsAt).filter((d) => classifyDocument(d) === 'policy') as JsonObject[];
  const resources = spec.resources.flatMap(documentsAt).filter(isObject) as JsonObject[];
  const values = [spec.values ? toTestValues(spec.values) : {}, ...(spec.variables ? documentsAt(spec.variables).filter(isObject).map((d) => toTestValues(d as JsonObject)) : [])];
  const offlineImages = spec.context ? documentsAt(spec.context).some((d) => asArray(asObject(asObject(d).spec).images).length + asArray(asObject(d).images).length > 0) : false;
  const images = imagesOf(resources);
  const supplied = suppliedNames(values);
  const reasons: string[] = [];
  for (const policy of policies) {
    const classic = String(policy.apiVersion ?? '').startsWith('kyverno.io/');
    reasons.push(...(classic ? classicNeeds(policy, images, supplied, offlineImages) : celNeeds(policy, images, offlineImages)));
  }
  return [...new Set(reasons)];
}
