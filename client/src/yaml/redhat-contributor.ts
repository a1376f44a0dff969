/**
 * Living with Red Hat's YAML extension (redhat.vscode-yaml): a schema contributor for its
 * `registerContributor` API. For a file holding Kyverno documents (engine/loader's
 * classification) it answers a schema of our own URI scheme, so its own schema
 * associations (`yaml.schemas`, the public catalog) do not apply there and the Kyverno
 * diagnostics and hover are ours. Pure (no `vscode`): the text of a document and the
 * schema files come in as functions, so the answers are unit-tested.
 */
import { isKyvernoDocument } from '../../../engine/loader/classify';
import { parseYamlDocuments } from '../../../engine/loader/parse';
import { isJsonObject } from '../../../engine/core/json';

/** `kyverno.redhatYaml`: how Red Hat YAML treats Kyverno files. */
export type RedhatYamlMode = 'standAside' | 'shareSchema' | 'off';

export const REDHAT_YAML_ID = 'redhat.vscode-yaml';
/** The URI scheme of the schemas we contribute (handled by requestSchemaContent). */
export const SCHEMA_SCHEME = 'kyverno-studio-schema';
/** An empty schema: every document is valid, and it documents nothing to hover. */
export const PERMISSIVE_URI = `${SCHEMA_SCHEME}://schemas/permissive.json`;
const KINDS_URI_PREFIX = `${SCHEMA_SCHEME}://schemas/kinds.json?`;

/** vscode-yaml's ExtensionAPI (src/schema-extension-api.ts), the part we use. */
export interface RedhatYamlApi {
  registerContributor(
    schema: string,
    requestSchema: (resource: string) => string | undefined,
    requestSchemaContent: (uri: string) => Promise<string> | string,
    label?: string,
  ): boolean;
}

export interface ContributorSources {
  mode: () => RedhatYamlMode;
  /** The text of an open document, by URI string (undefined when not open). */
  textOf: (resource: string) => string | undefined;
  /** `apiVersion/kind` → file name in schemas/ (schemas/index.json). */
  schemaFiles: ReadonlyMap<string, string>;
  /** The text of a file in schemas/. */
  readSchema: (file: string) => string;
}

export interface SchemaContributor {
  requestSchema(resource: string): string | undefined;
  requestSchemaContent(uri: string): string;
}

const KYVERNO_TEST_FILE = /(^|\/)kyverno-test\.ya?ml$/;

/** The `apiVersion/kind` of the Kyverno documents of a text (empty when it holds none). */
export function kyvernoKinds(text: string, resource: string): string[] {
  const kinds = new Set<string>();
  for (const d of parseYamlDocuments(text, resource).documents) {
    if (!isKyvernoDocument(d.value) || !isJsonObject(d.value)) continue;
    kinds.add(`${String(d.value.apiVersion)}/${String(d.value.kind)}`);
  }
  return [...kinds].sort();
}

export function createSchemaContributor(src: ContributorSources): SchemaContributor {
  return {
    requestSchema(resource) {
      const mode = src.mode();
      if (mode === 'off') return undefined;
      const text = src.textOf(resource);
      if (text === undefined) return undefined;
      const kinds = kyvernoKinds(text, resource);
      // Older test files carry no apiVersion/kind; our server knows them by name.
      if (!kinds.length && !KYVERNO_TEST_FILE.test(resource)) return undefined;
      const known = kinds.filter((k) => src.schemaFiles.has(k));
      if (mode === 'standAside' || !known.length) return PERMISSIVE_URI;
      return KINDS_URI_PREFIX + known.map(encodeURIComponent).join('&');
    },
    requestSchemaContent(uri) {
      if (!uri.startsWith(KINDS_URI_PREFIX)) return '{}';
      // Per document by apiVersion and kind: the other documents of the file stay unconstrained.
      const allOf = uri
        .slice(KINDS_URI_PREFIX.length)
        .split('&')
        .map(decodeURIComponent)
        .flatMap((key) => {
          const file = src.schemaFiles.get(key);
          if (!file) return [];
          const slash = key.lastIndexOf('/');
          return [
            {
              if: {
                properties: { apiVersion: { const: key.slice(0, slash) }, kind: { const: key.slice(slash + 1) } },
                required: ['apiVersion', 'kind'],
              },
              then: JSON.parse(src.readSchema(file)) as unknown,
            },
          ];
        });
      return JSON.stringify(allOf.length ? { allOf } : {});
    },
  };
}

/** schemas/index.json as the map the contributor reads. */
export function schemaFilesOf(index: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!isJsonObject(index)) return out;
  for (const [key, entry] of Object.entries(index)) {
    if (isJsonObject(entry) && typeof entry.file === 'string') out.set(key, entry.file);
  }
  return out;
}

export function readMode(value: unknown): RedhatYamlMode {
  return value === 'shareSchema' || value === 'off' ? value : 'standAside';
}
