/**
 * Renders a policy pack (packs/<name>/*.yaml, generated from Kyverno's sample library) with the
 * user's choices, as the kyverno-policies Helm chart does: `spec.validationFailureAction` set to
 * the chosen action and, for excluded namespaces, an `exclude` block on every rule. Pure (text
 * in, text out): the CLI's `create pack` and the extension's "Add Policy Pack" both call it.
 */
import { isMap, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';

export const PACK_NAMES = ['pss-baseline', 'pss-restricted'] as const;
export type PackName = (typeof PACK_NAMES)[number];
export const PACK_ACTIONS = ['Audit', 'Enforce'] as const;
export type PackAction = (typeof PACK_ACTIONS)[number];

export const PACK_SUMMARIES: Record<PackName, string> = {
  'pss-baseline': 'Pod Security Standards, baseline level (11 policies)',
  'pss-restricted': 'Pod Security Standards, restricted level (baseline plus 6 policies)',
};

export interface PackOptions {
  action: PackAction;
  excludeNamespaces: string[];
}

export interface PackFile {
  name: string;
  text: string;
}

export class PackError extends Error {}

export function isPackName(name: string): name is PackName {
  return (PACK_NAMES as readonly string[]).includes(name);
}

export function isPackAction(action: string): action is PackAction {
  return (PACK_ACTIONS as readonly string[]).includes(action);
}

/** `a, b,,c` → [a, b, c]: the namespaces a user typed. */
export function parseNamespaceList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Adds `namespaces` to a rule's exclude: a new `any` entry (OR with what is already excluded). */
function excludeNamespaces(doc: Document, rule: YAMLMap, namespaces: string[], where: string): void {
  const entry = { resources: { namespaces } };
  const exclude = rule.get('exclude', true);
  if (exclude === undefined) {
    rule.set('exclude', doc.createNode({ any: [entry] }));
    return;
  }
  const any = isMap(exclude) ? exclude.get('any', true) : undefined;
  if (isMap(exclude) && exclude.items.length === 1 && isSeq(any)) {
    (any as YAMLSeq).add(doc.createNode(entry));
    return;
  }
  throw new PackError(`${where}: the rule's exclude is not an 'any' list; cannot add excluded namespaces`);
}

/** One pack file rendered with the options; errors name the file. */
export function renderPackFile(file: PackFile, options: PackOptions): PackFile {
  const doc = parseDocument(file.text);
  if (doc.errors.length > 0) throw new PackError(`${file.name}: ${doc.errors[0].message}`);
  const spec = doc.get('spec', true);
  if (!isMap(spec)) throw new PackError(`${file.name}: not a policy (no spec)`);
  spec.set('validationFailureAction', options.action);
  if (options.excludeNamespaces.length > 0) {
    const rules = spec.get('rules', true);
    if (!isSeq(rules)) throw new PackError(`${file.name}: no spec.rules`);
    rules.items.forEach((rule, i) => {
      if (!isMap(rule)) throw new PackError(`${file.name}: spec.rules[${i}] is not a rule`);
      excludeNamespaces(doc, rule, options.excludeNamespaces, `${file.name}: spec.rules[${i}]`);
    });
  }
  return { name: file.name, text: doc.toString({ lineWidth: 0 }) };
}

/** Every file of a pack rendered with the options, in name order. */
export function renderPack(files: PackFile[], options: PackOptions): PackFile[] {
  return [...files].sort((a, b) => a.name.localeCompare(b.name)).map((f) => renderPackFile(f, options));
}
