/**
 * Kyverno's anchor preprocessing of a patchStrategicMerge overlay (strategicPreprocessing.go),
 * run against the resource before the merge:
 * - `+(key)`: dropped when the resource already has the key, otherwise becomes `key`;
 * - `(key)` conditions: a failure in a map skips the whole patch; in a list of maps it only
 *   drops that element, and a passing element is re-targeted to the resource element by `name`;
 * - `<(key)` global conditions: a failure anywhere skips the whole patch;
 * - finally condition keys and anchor-only elements are removed from the overlay.
 * The overlay is edited in place (callers pass a private copy), with Kyverno's quirks kept:
 * the element copy is shared across resource elements and list deletions go by index.
 */
import { validatePattern } from '../pattern';
import {
  anchorString, containsCondition, isAddIfNotPresent, isCondition, isGlobal, isMutationAnchor, parseAnchor,
  type ParsedAnchor,
} from './anchors';
import { isJsonObject } from '../core/json';

/** A `(key)` condition did not hold. */
export class ConditionError extends Error {
  constructor(cause: string) {
    super(`condition failed: ${cause}`);
  }
}

/** A `<(key)` global condition did not hold. */
export class GlobalConditionError extends Error {
  constructor(cause: string) {
    super(`global condition failed: ${cause}`);
  }
}

type JsonMap = Record<string, unknown>;

/** Rewrites the overlay for the resource; throws ConditionError / GlobalConditionError when a condition fails. */
export function preprocessOverlay(overlay: unknown, resource: unknown): void {
  preprocessRecursive(overlay, resource);
  if (!isJsonObject(overlay)) throw new Error('patchStrategicMerge must be a map');
  deleteConditionElements(overlay);
}

function preprocessRecursive(pattern: unknown, resource: unknown): void {
  if (isJsonObject(pattern)) walkMap(pattern, resource);
  else if (Array.isArray(pattern) && pattern.length > 0 && isJsonObject(pattern[0])) processListOfMaps(pattern, resource);
}

function walkMap(pattern: JsonMap, resource: unknown): void {
  handleAddIfNotPresent(pattern, resource);
  validateConditions(pattern, resource);
  for (const field of Object.keys(pattern)) {
    if (isMutationAnchor(parseAnchor(field))) continue;
    const value = isJsonObject(resource) && field in resource ? resource[field] : undefined;
    preprocessRecursive(pattern[field], value);
  }
}

function processListOfMaps(pattern: unknown[], resource: unknown): void {
  if (resource !== undefined && resource !== null && !Array.isArray(resource)) {
    throw new Error('wrong node kind: expected a list in the resource where the patch has a list');
  }
  const resourceElements = (resource ?? []) as unknown[];
  for (const patternElement of [...pattern]) {
    if (!hasAnchors(patternElement, isMutationAnchor)) continue;
    const hasGlobal = hasAnchors(patternElement, isGlobal);
    let anyGlobalPassed = false;
    let lastGlobalError: GlobalConditionError | undefined;
    const elementCopy = structuredClone(patternElement);
    for (const resourceElement of resourceElements) {
      try {
        preprocessRecursive(elementCopy, resourceElement);
      } catch (e) {
        if (e instanceof ConditionError) continue;
        if (e instanceof GlobalConditionError) {
          lastGlobalError = e;
          continue;
        }
        throw e;
      }
      if (hasGlobal) anyGlobalPassed = true;
      else addElementForResourceName(pattern, elementCopy, resourceElement);
    }
    if (resource === undefined || resource === null) {
      try {
        preprocessRecursive(elementCopy, undefined);
        if (hasGlobal) anyGlobalPassed = true;
      } catch (e) {
        if (!(e instanceof ConditionError)) throw e;
      }
    }
    if (!anyGlobalPassed && lastGlobalError) throw lastGlobalError;
  }
}

/** A passing conditional element applies to the matched resource element, which kyaml pairs by `name`. */
function addElementForResourceName(pattern: unknown[], element: unknown, resourceElement: unknown): void {
  const name = isJsonObject(resourceElement) ? resourceElement.name : undefined;
  if (name === undefined || name === null || name === '') return;
  const copy = structuredClone(element);
  if (deleteAnchors(copy, true, false)) return;
  if (isJsonObject(copy)) copy.name = name;
  pattern.push(copy);
}

function validateConditions(pattern: JsonMap, resource: unknown): void {
  try {
    validateConditionsOf(pattern, resource, isGlobal);
  } catch (e) {
    throw new GlobalConditionError((e as Error).message);
  }
  try {
    validateConditionsOf(pattern, resource, isCondition);
  } catch (e) {
    throw new ConditionError((e as Error).message);
  }
}

function validateConditionsOf(pattern: JsonMap, resource: unknown, filter: (a: ParsedAnchor | undefined) => boolean): void {
  for (const raw of Object.keys(pattern)) {
    const a = parseAnchor(raw);
    if (!a || !filter(a)) continue;
    if (!isJsonObject(resource) || !(a.key in resource)) throw new Error(`could not found "${a.key}" key in the resource`);
    const patternValue = pattern[raw];
    const resourceValue = resource[a.key];
    if (handleAddIfNotPresent(patternValue, resourceValue) > 0) continue;
    checkCondition(patternValue, resourceValue);
  }
}

// Kyverno converts scalar nodes to their YAML text before matching, so 3 and "3" compare alike.
const asConditionValue = (v: unknown): unknown => (v === null || typeof v !== 'object' ? (v === null ? 'null' : String(v)) : v);

function checkCondition(pattern: unknown, resource: unknown): void {
  const outcome = validatePattern(asConditionValue(resource), asConditionValue(pattern));
  if (outcome.status === 'fail' || outcome.status === 'error') throw new Error(outcome.message);
}

function handleAddIfNotPresent(pattern: unknown, resource: unknown): number {
  if (!isJsonObject(pattern)) return 0;
  const anchors = Object.keys(pattern).map(parseAnchor).filter(isAddIfNotPresent) as ParsedAnchor[];
  for (const a of anchors) {
    if (isJsonObject(resource) && a.key in resource) delete pattern[anchorString(a)];
    else renameKey(pattern, anchorString(a), a.key);
  }
  return anchors.length;
}

/** Renames a key in place, keeping key order (the merge and later walks iterate in order). */
function renameKey(map: JsonMap, from: string, to: string): void {
  if (!(from in map) || from === to) return;
  const entries = Object.entries(map);
  for (const k of Object.keys(map)) delete map[k];
  for (const [k, v] of entries) map[k === from ? to : k] = v;
}

function hasAnchors(node: unknown, predicate: (a: ParsedAnchor | undefined) => boolean): boolean {
  if (isJsonObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (predicate(parseAnchor(key))) return true;
      if (hasAnchors(value, predicate)) return true;
    }
    return false;
  }
  if (Array.isArray(node)) return node.some((e) => hasAnchors(e, predicate));
  // Kyverno checks scalar values for condition anchors whatever the predicate.
  return typeof node === 'string' && containsCondition(parseAnchor(node));
}

function deleteConditionElements(pattern: JsonMap): void {
  for (const field of Object.keys(pattern)) {
    if (deleteAnchors(pattern[field], containsCondition(parseAnchor(field)), false)) delete pattern[field];
  }
}

/** Removes anchors; true when what is left of node should itself be removed from the overlay. */
function deleteAnchors(node: unknown, deleteScalar: boolean, traverseMaps: boolean): boolean {
  if (isJsonObject(node)) return deleteAnchorsInMap(node, traverseMaps);
  if (Array.isArray(node)) return deleteAnchorsInList(node, traverseMaps);
  return deleteScalar;
}

function deleteAnchorsInMap(node: JsonMap, traverseMaps: boolean): boolean {
  let anchorsLeft = false;
  for (const raw of Object.keys(node)) {
    if (!containsCondition(parseAnchor(raw))) continue;
    if (deleteAnchors(node[raw], true, traverseMaps)) delete node[raw];
    else anchorsLeft = true;
  }
  if (anchorsLeft) {
    for (const raw of Object.keys(node)) {
      const a = parseAnchor(raw);
      if (containsCondition(a)) renameKey(node, raw, a!.key);
    }
  }
  let needToDelete = true;
  for (const field of Object.keys(node)) {
    if (deleteAnchors(node[field], false, traverseMaps)) delete node[field];
    else needToDelete = false;
  }
  return needToDelete;
}

function deleteAnchorsInList(node: unknown[], traverseMaps: boolean): boolean {
  const wasEmpty = node.length === 0;
  const snapshot = [...node];
  snapshot.forEach((element, i) => {
    let remove: boolean;
    if (hasAnchors(element, isMutationAnchor)) {
      remove = traverseMaps && isJsonObject(element) ? deleteAnchors(element, true, traverseMaps) : true;
    } else {
      remove = deleteAnchors(element, false, traverseMaps);
    }
    // Kyverno deletes by the element's original index from the live list (indexes shift).
    if (remove && i < node.length) node.splice(i, 1);
  });
  return node.length === 0 && !wasEmpty;
}
