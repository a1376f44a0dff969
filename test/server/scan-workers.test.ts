// The workspace scan's parsing in worker threads (server/src/scan-workers.ts): a scan whose
// files are parsed beside the server's thread must give the index exactly what a scan that
// parses them itself gives (the same policies, in the same order, the same CRDs, the same
// manifest diagnostics), whatever the files, and must fall back to its own thread when a
// parser fails. Fixed seed in `npm test`; FUZZ_SEED / FUZZ_RUNS vary it (`npm run fuzz`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { walkFiles } from '../../io/walk';
import { parseFile, ManifestResults } from '../../server/src/service';
import { WorkspaceIndex, type EntryParser, type WorkspaceFiles } from '../../server/src/workspace';
import { diskFiles } from '../../server/src/disk-files';
import { ScanWorkers } from '../../server/src/scan-workers';
import { entryOfText, mayContribute, toCached } from '../../server/src/scan-entry';

const seed = Number(process.env.FUZZ_SEED ?? 20261207);
const runs = (n: number) => (process.env.FUZZ_RUNS ? Math.max(n, Math.ceil(Number(process.env.FUZZ_RUNS) / 10)) : n);

/** The worker on the source (the build's is dist/scan-worker.js). */
const WORKER = join(__dirname, 'scan-worker.cjs');

const LIBRARY = resolve('../shared/conformance/kyverno-policies');
const CLI = resolve('../shared/conformance/kyverno-cli');

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:latest
`;

/** An in-memory workspace of `files` (in the listing's order), optionally with parsers. */
function memoryFiles(files: Array<{ uri: string; text: string }>, parsers?: () => EntryParser | undefined): WorkspaceFiles {
  const byUri = new Map(files.map((f) => [f.uri, f.text]));
  return {
    list: async () => files.map((f) => f.uri),
    read: async (uri) => byUri.get(uri),
    relative: (uri) => (uri.startsWith('file:///ws/') ? uri.slice('file:///ws/'.length) : undefined),
    parsers,
  };
}

/** Parsers that count what they parse and leave the (shared) workers running at the scan's end. */
function counted(workers: EntryParser): { parsers: () => EntryParser; parsed: () => number } {
  let parsed = 0;
  return {
    parsers: () => ({
      parse: (uri, text) => {
        parsed++;
        return workers.parse(uri, text);
      },
      release: () => undefined,
    }),
    parsed: () => parsed,
  };
}

/** What the index holds, comparable with deepEqual. */
function contents(index: WorkspaceIndex) {
  return { policies: index.policies(), crdKinds: index.crdKinds() };
}

async function scanned(files: WorkspaceFiles): Promise<WorkspaceIndex> {
  const index = new WorkspaceIndex(files);
  assert.equal(await index.scanInSlices(), true);
  return index;
}

test('the scan worker parses a file as the index does', async () => {
  const workers = ScanWorkers.start(WORKER, 1)!;
  try {
    for (const text of [
      'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x}\nspec:\n  rules: []\n',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: x.io\n  names: {kind: Thing, plural: things}\n  versions: [{name: v1}]\n',
      'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: [unclosed\n',
      'just: text\n',
      'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: big}\nspec: {n: 1e400, m: -0, o: .nan}\n',
    ]) {
      assert.deepEqual(await workers.parse('file:///ws/a.yaml', text), toCached(entryOfText('file:///ws/a.yaml', text)), text);
    }
  } finally {
    workers.release();
  }
});

test('the sample library scanned with scan workers: the same policies in the same order, CRDs and manifest diagnostics', { skip: !existsSync(LIBRARY) && 'sample library absent' }, async () => {
  const workers = ScanWorkers.start(WORKER, 2)!;
  try {
    const { parsers, parsed } = counted(workers);
    const inThread = await scanned(diskFiles([LIBRARY]));
    const beside = await scanned({ ...diskFiles([LIBRARY]), parsers });
    assert.ok(parsed() > 500, `the workers parsed ${parsed()} files`);
    assert.ok(inThread.policies().length > 500);
    assert.deepEqual(contents(beside), contents(inThread));
    const manifest = parseFile('file:///elsewhere/deployment.yaml', DEPLOYMENT);
    const diagnostics = (index: WorkspaceIndex) => new ManifestResults().diagnostics(manifest, index.policySet());
    const expected = diagnostics(inThread);
    assert.ok(expected.length > 10, `${expected.length} diagnostics`);
    assert.deepEqual(diagnostics(beside), expected);
  } finally {
    workers.release();
  }
});

/** Corpus YAML files (policies, resources, tests, values) and texts at the edges of the scan. */
function corpusTexts(): string[] {
  const texts: string[] = [];
  for (const dir of [LIBRARY, CLI]) {
    if (!existsSync(dir)) continue;
    const { files } = walkFiles(dir, { keep: (name) => /\.ya?ml$/.test(name), maxFiles: 5000 });
    for (const f of files.sort().filter((_, i) => i % 7 === 0)) texts.push(readFileSync(f, 'utf8'));
  }
  return texts;
}

const EDGES = [
  '',
  '---\n---\n',
  'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: [unclosed\n',
  'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: dup, name: again}\nspec: {rules: []}\n',
  'a: &a [*a]\napiVersion: kyverno.io/v1\n',
  'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: x.io\n  names: {kind: Thing, plural: things}\n  versions: [{name: v1, schema: {openAPIV3Schema: {type: object}}}]\n',
  'apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: {name: e}\nspec: {exceptions: [{policyName: p, ruleNames: [r]}], match: {any: [{resources: {kinds: [Pod]}}]}}\n',
  'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n',
];

test('any set of files scanned with scan workers gives the index what a scan in its own thread gives', { timeout: 600_000 }, async () => {
  const corpus = corpusTexts();
  assert.ok(corpus.length > 50 || !existsSync(LIBRARY), `${corpus.length} corpus files`);
  const texts = [...corpus, ...EDGES];
  // Mostly files the scan parses (more than the few it parses itself before starting workers).
  const parsedByScan = texts.filter(mayContribute);
  const skipped = texts.filter((t) => !mayContribute(t));
  const text = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...parsedByScan) }, { weight: 1, arbitrary: fc.constantFrom(...skipped) });
  const workers = ScanWorkers.start(WORKER, 2)!;
  let parsedBeside = 0;
  try {
    await fc.assert(fc.asyncProperty(
      fc.array(text, { minLength: 1, maxLength: 80, size: "max" }),
      fc.nat(3),
      async (picks, failEvery) => {
        const files = picks.map((t, n) => ({ uri: `file:///ws/f${n}.yaml`, text: t }));
        const expected = contents(await scanned(memoryFiles(files)));
        const { parsers, parsed } = counted(workers);
        assert.deepEqual(contents(await scanned(memoryFiles(files, parsers))), expected);
        parsedBeside += parsed();
        // Parsers that fail on some files: the scan parses those itself.
        let calls = 0;
        const failing = (): EntryParser => ({
          parse: (uri, text) => (failEvery && ++calls % failEvery === 0 ? Promise.reject(new Error('worker gone')) : workers.parse(uri, text)),
          release: () => undefined,
        });
        assert.deepEqual(contents(await scanned(memoryFiles(files, failing))), expected);
      },
    ), { seed, numRuns: runs(12) });
    assert.ok(parsedBeside > 0, 'some runs had enough files to parse for the workers');
  } finally {
    workers.release();
  }
});

test('a document opened while its file is being parsed by a worker stays the truth for that file', async () => {
  const policy = (name: string) => `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: ${name}}\nspec:\n  rules: []\n`;
  const files = Array.from({ length: 40 }, (_, i) => ({ uri: `file:///ws/p${i}.yaml`, text: policy(`disk-${i}`) }));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let released = 0;
  const slow: EntryParser = {
    parse: async (uri, text) => {
      await gate;
      return toCached(entryOfText(uri, text));
    },
    release: () => void released++,
  };
  const index = new WorkspaceIndex(memoryFiles(files, () => slow));
  const scan = index.scanInSlices();
  // Wait until the scan is waiting for the parser, then open the last file with other content.
  while (!index.policies().some((p) => p.value.metadata && (p.value.metadata as { name: string }).name === 'disk-15')) await new Promise((r) => setTimeout(r, 1));
  const open = 'file:///ws/p39.yaml';
  index.updateBuffer(open, parseFile(open, policy('buffer')));
  release();
  assert.equal(await scan, true);
  const names = index.policies().filter((p) => p.uri === open).map((p) => (p.value.metadata as { name: string }).name);
  assert.deepEqual(names, ['buffer']);
  assert.equal(index.policies().length, 40);
  assert.equal(released, 1, 'the scan releases its parsers');
});
