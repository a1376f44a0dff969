// Stand-in for redhat.vscode-yaml in the e2e tests (the real one is not installable offline):
// the same registerContributor API (vscode-yaml src/schema-extension-api.ts), recording each
// contributor so the suite can ask it what Red Hat YAML would ask.
const contributors = [];

exports.activate = function activate() {
  return {
    registerContributor(schema, requestSchema, requestSchemaContent, label) {
      if (contributors.some((c) => c.schema === schema)) return false; // as vscode-yaml: one per scheme
      contributors.push({ schema, requestSchema, requestSchemaContent, label });
      return true;
    },
    contributors,
  };
};
exports.deactivate = function deactivate() {};
