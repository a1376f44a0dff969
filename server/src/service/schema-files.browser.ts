/**
 * The documented JSON Schemas in the browser build (swapped in for `schema-files.ts` by
 * scripts/build.mjs): a Web Worker has no file system, so esbuild bundles every
 * schemas/*.json behind this one glob require, each parsed on first use.
 */
declare const require: (id: string) => unknown;

export function readSchemaFile(file: string): unknown {
  if (!/^[\w.-]+\.json$/.test(file)) throw new Error(`not a schema file name: ${file}`);
  const name = file.slice(0, -'.json'.length);
  return require(`../../../schemas/${name}.json`);
}
