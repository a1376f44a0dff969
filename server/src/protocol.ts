/** Messages between the extension and the language server beyond LSP's own. */

/** The extension → server: the user trusted the workspace (registry access, if turned on, may start). */
export const WORKSPACE_TRUSTED = 'kyverno/workspaceTrusted';

/**
 * Server → extension, in the browser build (no file system in the worker): the URIs of the
 * workspace's YAML files, at most `max`. The server filters them by the `kyverno.policies` glob.
 */
export const WORKSPACE_FILES = 'kyverno/workspaceFiles';
export interface WorkspaceFilesParams { max: number }

/** Server → extension, in the browser build: a workspace file's text, null when unreadable or larger than `maxBytes`. */
export const READ_FILE = 'kyverno/readFile';
export interface ReadFileParams { uri: string; maxBytes: number }
