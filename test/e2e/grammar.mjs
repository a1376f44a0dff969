// Checks the TextMate injection grammar with VS Code's own tokenizer (vscode-textmate and
// vscode-oniguruma from the code-server install) over VS Code's YAML grammar, the way the
// editor colours a policy. Usage: node grammar.mjs <code-server lib/vscode folder>
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const VS = process.argv[2];
if (!VS) {
  console.error('usage: node grammar.mjs <code-server lib/vscode folder>');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(VS, 'package.json'));
const tm = require('vscode-textmate');
const onig = require('vscode-oniguruma');
const yamlSyntaxes = path.join(VS, 'extensions/yaml/syntaxes');
const injection = path.join(here, '../../syntaxes/kyverno.injection.tmLanguage.json');
const manifest = JSON.parse(fs.readFileSync(path.join(here, '../../package.json'), 'utf8'));

await onig.loadWASM(fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer);
// VS Code's YAML grammar includes versioned sub-grammars by scope name.
const byScope = new Map();
for (const f of fs.readdirSync(yamlSyntaxes)) {
  const g = JSON.parse(fs.readFileSync(path.join(yamlSyntaxes, f), 'utf8'));
  byScope.set(g.scopeName, path.join(yamlSyntaxes, f));
}
const contributed = manifest.contributes.grammars.find((g) => g.injectTo?.includes('source.yaml'));
assert.ok(contributed, 'package.json injects a grammar into source.yaml');
byScope.set(contributed.scopeName, injection);
const registry = new tm.Registry({
  onigLib: Promise.resolve({ createOnigScanner: (s) => new onig.OnigScanner(s), createOnigString: (s) => new onig.OnigString(s) }),
  loadGrammar: async (scope) => (byScope.has(scope) ? tm.parseRawGrammar(fs.readFileSync(byScope.get(scope), 'utf8'), byScope.get(scope)) : null),
  getInjections: (scope) => (scope === 'source.yaml' ? [contributed.scopeName] : undefined),
});
const grammar = await registry.loadGrammar('source.yaml');

function scopesOf(text) {
  const out = [];
  let state = tm.INITIAL;
  for (const line of text.split('\n')) {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    for (const t of r.tokens) out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
  }
  return out;
}
const scopeOf = (tokens, text) => tokens.find((t) => t.text === text)?.scopes.at(-1);

const policy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
spec:
  rules:
    - name: r
      validate:
        message: "pod {{ request.object.metadata.name }} has {{ length(@) }}"
        pattern:
          metadata:
            =(labels):
              X(forbidden): "null"
        deny:
          conditions:
            - key: "{{ request.object.spec.containers[].image }}"
              operator: Equals
              value: x
      celPreconditions:
        - expression: "has(object.spec) && object.spec.replicas > 1"
          messageExpression: "'replicas: ' + string(object.spec.replicas)"
# {{ comment }}
`;
const tokens = scopesOf(policy);
let passed = 0;
const expect = (text, scope) => {
  assert.equal(scopeOf(tokens, text), scope, `${JSON.stringify(text)} should be ${scope}`);
  passed++;
};
expect('{{', 'punctuation.section.embedded.begin.kyverno');
expect('request', 'variable.language.kyverno');
expect('length', 'support.function.jmespath');
expect('=(', 'keyword.operator.anchor.begin.kyverno');
expect('X(', 'keyword.operator.anchor.begin.kyverno');
expect('has', 'support.function.cel');
expect('&&', 'keyword.operator.cel');
expect("'replicas: '", 'string.quoted.single.cel');
// The YAML quotes around a CEL expression stay YAML punctuation, not a CEL string.
assert.ok(!tokens.some((t) => t.text.startsWith('"has(') && t.scopes.at(-1).includes('.cel')), 'quoted CEL is tokenized inside the quotes');
// `key:` in a classic condition holds a {{ }} variable, not CEL.
const keyLine = tokens.filter((t) => t.scopes.some((s) => s.includes('jmespath')) && t.text === 'containers');
assert.equal(keyLine.length, 1, 'conditions key: variables are JMESPath');
// Comments are left alone.
assert.ok(!tokens.some((t) => t.text.includes('comment') && t.scopes.some((s) => s.includes('kyverno'))), 'no injection in comments');
console.log(`grammar: ${passed + 3} checks passed`);
