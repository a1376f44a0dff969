/** Reads policy/resource paths from disk into documents, collecting one-line errors per file. */
import { classifyDocument, expandLists, formatLoadError, parseYamlDocuments, type LoadedDocument } from '../../engine/loader';
import { readFileSync } from 'node:fs';
import { exists, readFailure, readText, yamlFilesAt } from './files';

export interface ReadDocuments {
  documents: LoadedDocument[];
  errors: string[];
}

/** Standard input, read once: `-` as a path names it (kyverno apply's stdin pipe). */
let stdinText: string | undefined;
function readStdin(): string {
  stdinText ??= readFileSync(0, 'utf8');
  return stdinText;
}

function addParsed(out: ReadDocuments, text: string, file: string): void {
  const parsed = parseYamlDocuments(text, file);
  for (const e of parsed.errors) out.errors.push(formatLoadError(e));
  for (const d of parsed.documents) for (const item of expandLists(d.value)) out.documents.push({ ...d, value: item });
}

export function readDocuments(paths: string[]): ReadDocuments {
  const out: ReadDocuments = { documents: [], errors: [] };
  for (const p of paths) {
    if (p === '-') {
      try {
        addParsed(out, readStdin(), '<stdin>');
      } catch (err) {
        out.errors.push(`<stdin>: ${(err as Error).message}`);
      }
      continue;
    }
    if (!exists(p)) {
      out.errors.push(`${p}: no such file or directory`);
      continue;
    }
    const files = yamlFilesAt(p);
    if (files.length === 0) out.errors.push(`${p}: no YAML files found`);
    for (const f of files) {
      let text: string;
      try {
        text = readText(f);
      } catch (err) {
        out.errors.push(readFailure(f, err));
        continue;
      }
      addParsed(out, text, f);
    }
  }
  return out;
}

export { classifyDocument };
