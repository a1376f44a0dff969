/** Notifications between the extension and the language server beyond LSP's own. */

/** The extension → server: the user trusted the workspace (registry access, if turned on, may start). */
export const WORKSPACE_TRUSTED = 'kyverno/workspaceTrusted';
