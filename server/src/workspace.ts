/**
 * The workspace's policies, PolicyExceptions and admission policy bindings (files under the
 * workspace folders matching the `kyverno.policies` glob), kept current from disk events and
 * open documents.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseFile, workspacePolicies, type WorkspacePolicy, type ParsedFile } from './service';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out', '.vscode-test']);
const MAX_FILES = 5000;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Glob with `**`, `*`, `?` and `{a,b}` → RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += '(?:' + glob.slice(i + 1, end).split(',').map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|') + ')';
        i = end;
      }
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

export class PolicyIndex {
  private byUri = new Map<string, WorkspacePolicy[]>();
  private kinds = new Set<string>();
  private matcher: RegExp;
  version = 0;

  constructor(private folders: string[], glob = '**/*.{yaml,yml}') {
    this.matcher = globToRegExp(glob);
  }

  setGlob(glob: string): void {
    this.matcher = globToRegExp(glob);
  }

  accepts(uri: string): boolean {
    if (!uri.startsWith('file:')) return false;
    const path = fileURLToPath(uri);
    return this.folders.some((f) => {
      const rel = relative(f, path);
      return !rel.startsWith('..') && this.matcher.test(rel.split(sep).join('/'));
    });
  }

  scan(): void {
    this.byUri.clear();
    let count = 0;
    const walk = (dir: string, depth: number) => {
      if (depth > 20 || count >= MAX_FILES) return;
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (count >= MAX_FILES) return;
        const p = join(dir, name);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (!SKIP_DIRS.has(name) && !name.startsWith('.')) walk(p, depth + 1);
        } else if (/\.ya?ml$/.test(name) && st.size <= MAX_FILE_BYTES) {
          const uri = pathToFileURL(p).toString();
          if (!this.accepts(uri)) continue;
          count++;
          try {
            this.update(uri, readFileSync(p, 'utf8'));
          } catch {
            /* unreadable file: skipped */
          }
        }
      }
    };
    for (const f of this.folders) walk(f, 0);
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
