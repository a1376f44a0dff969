/**
 * Where a rule result is in its file, for the results view and the run commands: engine/loader's
 * document model (the same parse, limits and JSON-path-to-span mapping that place the language
 * server's diagnostics), so the extension selects exactly what the editor underlines.
 * Pure (no vscode): offsets in, offsets out.
 */
import { lineCounterOf, parseYamlText, positionAt, resultSpan, type JsonPath, type TextPosition, type TextSpan } from '../../../engine/loader';

export type { JsonPath, TextSpan };
export type Position = TextPosition;

/** Where a resource lives in its file: the YAML document, and the path of the resource inside it (List items). */
export interface ResourceLocation {
  docIndex: number;
  itemPath: JsonPath;
}

/** Offset → line/character, with a line table built once per text. */
export function positionsOf(text: string): (offset: number) => Position {
  const lines = lineCounterOf(text);
  return (offset) => positionAt(lines, offset);
}

/** Span of `path` inside the resource at `location` of `text` (its `kind` for an empty path). */
export function locateInText(text: string, location: ResourceLocation, path: JsonPath = []): TextSpan | undefined {
  const doc = parseYamlText(text).docs[location.docIndex];
  return doc ? resultSpan(text, doc, location.itemPath, path) : undefined;
}
