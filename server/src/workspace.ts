/**
 * The workspace's policies, PolicyExceptions and admission policy bindings (files under the
 * workspace folders matching the `kyverno.policies` glob), kept current from disk events and
 * open documents.
 */
import { readFileSync, statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { walkFiles } from '../../io/walk';
import { compileGlob, type GlobMatcher } from '../../io/glob';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseFile, workspacePolicies, type WorkspacePolicy, type ParsedFile } from './service';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out', '.vscode-test']);
const MAX_FILES = 5000;
const MAX_DEPTH = 20;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** The default `kyverno.policies`: also what an unusable setting falls back to. */
export const DEFAULT_POLICIES_GLOB = '**/*.{yaml,yml}';

function matcherFor(glob: string): GlobMatcher {
  try {
    return compileGlob(glob);
  } catch {
    return compileGlob(DEFAULT_POLICIES_GLOB);
  }
}

export class PolicyIndex {
  private byUri = new Map<string, WorkspacePolicy[]>();
  private kinds = new Set<string>();
  private matcher: GlobMatcher;
  version = 0;

  constructor(private folders: string[], glob = DEFAULT_POLICIES_GLOB) {
    this.matcher = matcherFor(glob);
  }

  setGlob(glob: string): void {
    this.matcher = matcherFor(glob);
  }

  accepts(uri: string): boolean {
    if (!uri.startsWith('file:')) return false;
    const path = fileURLToPath(uri);
    return this.folders.some((f) => {
      const rel = relative(f, path);
      return !rel.startsWith('..') && this.matcher.test(rel.split(sep).join('/'));
    });
  }

  /** Reads every policy file of the folders (the shared walker: each real folder once, capped). */
  scan(): void {
    this.byUri.clear();
    let left = MAX_FILES;
    for (const folder of this.folders) {
      if (left <= 0) break;
      const { files } = walkFiles(folder, {
        keep: (name, rel) => /\.ya?ml$/.test(name) && this.matcher.test(rel),
        skipDir: (name) => SKIP_DIRS.has(name) || name.startsWith('.'),
        maxFiles: left,
        maxDepth: MAX_DEPTH,
      });
      left -= files.length;
      for (const file of files) {
        try {
          if (statSync(file).size > MAX_FILE_BYTES) continue;
          this.update(pathToFileURL(file).toString(), readFileSync(file, 'utf8'));
        } catch {
          /* unreadable file: skipped */
        }
      }
    }
    this.version++;
  }

  /** Re-reads one file's policies (text, or an already parsed file); returns whether they changed. */
  update(uri: string, content: string | ParsedFile | undefined): boolean {
    const before = JSON.stringify(this.byUri.get(uri) ?? []);
    const file = content === undefined || !this.accepts(uri) ? undefined : typeof content === 'string' ? parseFile(uri, content) : content;
    const policies: WorkspacePolicy[] = [];
    for (const pd of file?.docs ?? []) {
      if (pd.apiVersion === 'apiextensions.k8s.io/v1' && pd.kind === 'CustomResourceDefinition') {
        const k = (pd.value as { spec?: { names?: { kind?: string } } })?.spec?.names?.kind;
        if (k) this.kinds.add(k);
      }
    }
    if (file) policies.push(...workspacePolicies(file));
    if (policies.length) this.byUri.set(uri, policies);
    else this.byUri.delete(uri);
    const changed = before !== JSON.stringify(policies);
    if (changed) this.version++;
    return changed;
  }

  policies(): WorkspacePolicy[] {
    return [...this.byUri.values()].flat();
  }

  crdKinds(): string[] {
    return [...this.kinds];
  }
}
