// One LSP session against the browser build of the language server (dist/browser/server.js),
// written once for every place that drives it: a Web Worker in chromium
// (test/e2e/browser-worker.mjs, also the start-time bench) and a plain JavaScript realm without
// Node's globals (test/browser/bundles.test.ts). Plain JavaScript without imports: the page
// loads it as a module and Node imports it.
//
// The workspace is a folder under a scheme that is no file system (`memfs:`): the server must
// list and read it through the client's `kyverno/workspaceFiles` and `kyverno/readFile`
// requests, as the extension answers them with VS Code's file system in vscode.dev.

export const FOLDER = 'memfs:/ws';

const policy = (name, label) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${name}
spec:
  rules:
  - name: check-${label}
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforce
      message: "label ${label} is required"
      pattern:
        metadata:
          labels:
            ${label}: "?*"
`;

/** Files of the workspace, not opened: the server finds them by its scan. */
export const WORKSPACE = {
  [`${FOLDER}/policies/require-team.yaml`]: policy('require-team', 'team'),
  // Dependencies are not scanned: this policy must not apply.
  [`${FOLDER}/node_modules/pkg/require-owner.yaml`]: policy('require-owner', 'owner'),
  [`${FOLDER}/README.md`]: '# not YAML',
};

/** An open policy with a misspelt field (line 5), a blank line to complete in (line 6) and a `validate` key to hover (line 13). */
export const BROKEN_URI = `${FOLDER}/broken.yaml`;
export const BROKEN = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: broken
spec:
  validationFailureActon: Enforce
  
  rules:
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "{{ to_upper(request.object.metadata.name) }}"
      pattern:
        metadata:
          labels:
            app: "?*"
`;

/** An open manifest that the workspace's require-team policy rejects. */
export const POD_URI = `${FOLDER}/pod.yaml`;
export const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: c
    image: nginx:1.27
`;

/**
 * Runs the session. `transport.send(message)` posts a message to the server;
 * `transport.listen(callback)` receives the server's. `now()` is a millisecond clock; the
 * caller may pass `started` (when the worker was created) so that start-up is timed from it.
 * Resolves with what the server answered and the timings; rejects after `timeoutMs`.
 */
export async function runLspScenario(transport, { now = () => Date.now(), started = now(), timeoutMs = 30000 } = {}) {
  let nextId = 1;
  const pending = new Map();
  const diagnostics = new Map();
  const waiters = [];
  const requests = { workspaceFiles: 0, readFile: [] };
  const timings = {};
  const logs = [];

  const send = (m) => transport.send({ jsonrpc: '2.0', ...m });
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    send({ id, method, params });
  });
  const notify = (method, params) => send({ method, params });
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const got = waiters[i].test();
      if (got) {
        waiters[i].resolve(got);
        waiters.splice(i, 1);
      }
    }
  };
  const until = (what, test) => new Promise((resolve, reject) => {
    const got = test();
    if (got) return resolve(got);
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; server log:\n${logs.join('\n')}`)), timeoutMs);
    waiters.push({ test, resolve: (v) => { clearTimeout(timer); resolve(v); } });
  });

  transport.listen((m) => {
    if (m.id !== undefined && m.method === undefined) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (p) (m.error ? p.reject(new Error(m.error.message)) : p.resolve(m.result));
      return;
    }
    if (m.id !== undefined) {
      // A request from the server: the extension's answers (client/src/language/workspace-files.ts).
      let result = null;
      if (m.method === 'kyverno/workspaceFiles') {
        requests.workspaceFiles++;
        result = Object.keys(WORKSPACE).filter((u) => /\.ya?ml$/.test(u)).slice(0, m.params.max);
      } else if (m.method === 'kyverno/readFile') {
        requests.readFile.push(m.params.uri);
        const text = WORKSPACE[m.params.uri];
        result = typeof text === 'string' && text.length <= m.params.maxBytes ? text : null;
      }
      send({ id: m.id, result });
      return;
    }
    if (m.method === 'textDocument/publishDiagnostics') {
      if (!timings.firstDiagnostics && m.params.diagnostics.length) timings.firstDiagnostics = now() - started;
      diagnostics.set(m.params.uri, m.params.diagnostics);
    } else if (m.method === 'window/logMessage') {
      logs.push(m.params.message);
    }
    check();
  });

  const init = await request('initialize', {
    processId: null,
    rootUri: FOLDER,
    workspaceFolders: [{ uri: FOLDER, name: 'ws' }],
    capabilities: { textDocument: { publishDiagnostics: {}, hover: { contentFormat: ['markdown'] }, completion: {} }, workspace: {} },
    initializationOptions: { settings: { policies: '**/*.{yaml,yml}', debounceMs: 0, registryAccess: true }, trusted: true },
  });
  timings.initialized = now() - started;
  notify('initialized', {});
  notify('textDocument/didOpen', { textDocument: { uri: BROKEN_URI, languageId: 'yaml', version: 1, text: BROKEN } });
  const brokenDiagnostics = await until('the policy diagnostics', () => diagnostics.get(BROKEN_URI)?.length && diagnostics.get(BROKEN_URI));
  notify('textDocument/didOpen', { textDocument: { uri: POD_URI, languageId: 'yaml', version: 1, text: POD } });
  const opened = now();
  const podDiagnostics = await until('the manifest diagnostics from the scanned workspace policy', () => {
    const d = diagnostics.get(POD_URI);
    return d?.some((x) => /team/.test(x.message)) && d;
  });
  timings.manifestDiagnostics = now() - opened;
  const completion = await request('textDocument/completion', { textDocument: { uri: BROKEN_URI }, position: { line: 6, character: 2 } });
  const hover = await request('textDocument/hover', { textDocument: { uri: BROKEN_URI }, position: { line: 13, character: 6 } });
  await request('shutdown', null);
  notify('exit', null);
  return { capabilities: init.capabilities, brokenDiagnostics, podDiagnostics, completion, hover, requests, timings };
}

/** The checks every driver makes on the session's result; throws with what differs. */
export function checkLspScenario(r) {
  const fail = (what) => { throw new Error(`${what}\n${JSON.stringify(r, null, 1).slice(0, 4000)}`); };
  const typo = r.brokenDiagnostics.find((d) => d.code === 'KS1101');
  if (!typo || !/validationFailureActon/.test(typo.message) || typo.range.start.line !== 5) fail('no KS1101 on the misspelt field at line 6');
  if (!r.podDiagnostics.some((d) => String(d.code).startsWith('KS2') && /label team is required/.test(d.message))) fail('the workspace policy found by the scan did not reject the Pod');
  if (r.podDiagnostics.some((d) => /owner/.test(d.message))) fail('a policy under node_modules was applied');
  const items = Array.isArray(r.completion) ? r.completion : r.completion?.items ?? [];
  const labels = items.map((i) => i.label);
  if (!labels.includes('validationFailureAction') || !labels.includes('background')) fail('completion under spec lacks validationFailureAction/background');
  const hover = typeof r.hover?.contents === 'object' ? r.hover.contents.value : String(r.hover?.contents ?? '');
  if (!/\*\*validate\*\*/.test(hover) || !/Validation is used to validate matching resources/.test(hover)) fail('hover on `validate` lacks its schema documentation');
  if (r.requests.workspaceFiles < 1 || !r.requests.readFile.includes(`${FOLDER}/policies/require-team.yaml`)) fail('the workspace was not read through the client');
  if (r.requests.readFile.some((u) => u.includes('/node_modules/'))) fail('the scan read a file under node_modules');
}
