/** Registers our schema contributor with Red Hat YAML when it is installed (nothing otherwise). */
import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../log';
import { createSchemaContributor, readMode, REDHAT_YAML_ID, SCHEMA_SCHEME, schemaFilesOf, type RedhatYamlApi } from './redhat-contributor';

/** Whether the contributor was registered (for the e2e suite). */
export async function registerWithRedhatYaml(context: vscode.ExtensionContext, log: Log): Promise<boolean> {
  const extension = vscode.extensions.getExtension<RedhatYamlApi>(REDHAT_YAML_ID);
  if (!extension) return false;
  try {
    const api = await extension.activate();
    if (typeof api?.registerContributor !== 'function') {
      log.info(`${REDHAT_YAML_ID} offers no registerContributor API; not contributing schemas`);
      return false;
    }
    const schemasDir = join(context.extensionPath, 'schemas');
    const contributor = createSchemaContributor({
      mode: () => readMode(vscode.workspace.getConfiguration('kyverno').get('redhatYaml')),
      textOf: (resource) => {
        const key = vscode.Uri.parse(resource).toString();
        return vscode.workspace.textDocuments.find((d) => d.uri.toString() === key)?.getText();
      },
      schemaFiles: schemaFilesOf(JSON.parse(readFileSync(join(schemasDir, 'index.json'), 'utf8'))),
      readSchema: (file) => readFileSync(join(schemasDir, file), 'utf8'),
    });
    const ok = api.registerContributor(
      SCHEMA_SCHEME,
      (resource) => contributor.requestSchema(resource),
      (uri) => contributor.requestSchemaContent(uri),
      'Kyverno Studio',
    );
    log.info(`schema contributor registered with ${REDHAT_YAML_ID}: ${ok}`);
    return ok !== false;
  } catch (e) {
    log.error(`could not register with ${REDHAT_YAML_ID}`, e);
    return false;
  }
}
