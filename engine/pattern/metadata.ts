/**
 * Wildcard keys under metadata.labels / metadata.annotations of a validate pattern are
 * replaced by the first matching key of the resource before matching (Kyverno's
 * wildcards.ExpandInMetadata); values stay patterns. Anchors on such keys are kept.
 */
import { anchorString, parseAnchor } from '../anchor/parse';
import { containsWildcard, wildcardMatch } from '../wildcard/wildcard';
import { isJsonObject } from '../core/json';

type JsonMap = Record<string, unknown>;

/** The entry whose key is `tag`, plainly or inside an anchor. */
function findTag(tag: string, map: JsonMap): [string, unknown] | null {
  for (const k of Object.keys(map)) {
    if (k === tag || parseAnchor(k)?.key === tag) return [k, map[k]];
  }
  return null;
}

// Every map of a pattern is looked at for every resource (and list item) it is matched
// against; which key holds its metadata depends on the pattern alone.
const metadataKeys = new WeakMap<JsonMap, string | null>();

function patternMetadataEntry(patternMap: JsonMap): [string, unknown] | null {
  let key = metadataKeys.get(patternMap);
  if (key === undefined) {
    key = findTag('metadata', patternMap)?.[0] ?? null;
    metadataKeys.set(patternMap, key);
  }
  return key === null ? null : [key, patternMap[key]];
}

/**
 * Whether expandMetadataWildcards can ever change this pattern map: only a labels or
 * annotations map with wildcard keys is expanded, and that depends on the pattern alone.
 */
export function mayExpandMetadata(patternMap: JsonMap): boolean {
  const found = patternMetadataEntry(patternMap);
  if (!found || !isJsonObject(found[1])) return false;
  const patternMetadata = found[1];
  for (const tag of ['labels', 'annotations']) {
    const entry = findTag(tag, patternMetadata);
    if (entry && isJsonObject(entry[1]) && Object.keys(entry[1]).some(containsWildcard)) return true;
  }
  return false;
}

/** Returns the pattern map to use; the input is never modified. */
export function expandMetadataWildcards(patternMap: JsonMap, resourceMap: JsonMap): JsonMap {
  const found = patternMetadataEntry(patternMap);
  if (!found || found[1] === null || found[1] === undefined) return patternMap;
  const resourceMetadata = resourceMap['metadata'];
  if (resourceMetadata === null || resourceMetadata === undefined) return patternMap;
  // Kyverno assumes a map here (and would panic otherwise); anything else is left alone.
  if (!isJsonObject(found[1])) return patternMap;
  const [metadataKey, patternMetadata] = found as [string, JsonMap];
  let metadata: JsonMap | null = null;
  for (const tag of ['labels', 'annotations']) {
    const expanded = expandTag(tag, patternMetadata, resourceMetadata);
    if (!expanded) continue;
    metadata ??= { ...patternMetadata };
    metadata[expanded[0]] = expanded[1];
  }
  return metadata ? { ...patternMap, [metadataKey]: metadata } : patternMap;
}

function expandTag(tag: string, patternMetadata: unknown, resourceMetadata: unknown): [string, JsonMap] | null {
  if (!isJsonObject(patternMetadata) || !isJsonObject(resourceMetadata)) return null;
  const patternEntry = findTag(tag, patternMetadata);
  const resourceEntry = findTag(tag, resourceMetadata);
  if (!patternEntry || !isJsonObject(patternEntry[1]) || !resourceEntry || !isJsonObject(resourceEntry[1])) return null;
  // Without wildcard keys the expansion would be a copy of the same entries.
  if (!Object.keys(patternEntry[1]).some(containsWildcard)) return null;
  const resourceKeys = Object.keys(resourceEntry[1]);
  const result: JsonMap = {};
  for (const [k, v] of Object.entries(patternEntry[1])) {
    if (!containsWildcard(k)) {
      result[k] = v;
      continue;
    }
    const anchor = parseAnchor(k);
    const bare = anchor ? anchor.key : k;
    const match = resourceKeys.find((rk) => wildcardMatch(bare, rk)) ?? bare;
    result[anchor ? anchorString(anchor.type, match) : match] = v;
  }
  return [patternEntry[0], result];
}
