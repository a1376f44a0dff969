/**
 * What the Marketplace and users see of the extension: the manifest's icon, license, changelog,
 * repository, keywords and walkthrough, and the .vsix itself (built by scripts/package-vsix.mjs
 * from dist/: `npm run build` first) — its contents and its size.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

const REPO = resolve(__dirname, '../..');
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const VSIX_LIMIT = 5 * 1024 * 1024;

interface Step { id: string; description: string; media: { markdown?: string; image?: string }; completionEvents?: string[] }

/** RGBA pixels of a PNG written by scripts/gen-icon.mjs (8-bit RGBA, filter 0 rows). */
function decodePng(file: Buffer): { width: number; height: number; pixels: Buffer } {
  assert.deepEqual([...file.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let width = 0, height = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < file.length;) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const data = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([data[8], data[9], data[12]], [8, 6, 0], '8-bit RGBA, not interlaced');
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const rows = inflateSync(Buffer.concat(idat));
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(rows[y * (width * 4 + 1)], 0, 'filter type 0');
    rows.copy(pixels, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, pixels };
}

/** Names and sizes of a zip's entries, from its central directory. */
function zipEntries(zip: Buffer): Map<string, number> {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, 'zip end of central directory');
  const count = zip.readUInt16LE(end + 10);
  const entries = new Map<string, number>();
  for (let at = zip.readUInt32LE(end + 16), i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    entries.set(zip.toString('utf8', at + 46, at + 46 + nameLength), size);
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

test('the icon is the PNG scripts/gen-icon.mjs draws', async () => {
  assert.equal(manifest.icon, 'client/media/icon.png');
  const png = decodePng(readFileSync(join(REPO, manifest.icon)));
  const { renderIcon, SIZE } = (await import(pathToFileURL(join(REPO, 'scripts', 'gen-icon.mjs')).href)) as { renderIcon: () => Buffer; SIZE: number };
  assert.equal(png.width, SIZE);
  assert.equal(png.height, SIZE);
  assert.ok(SIZE >= 128, 'the Marketplace wants at least 128×128');
  assert.ok(png.pixels.equals(renderIcon()), 'client/media/icon.png is stale: run node scripts/gen-icon.mjs');
});

test('the manifest names its license, changelog, repository, keywords and banner', () => {
  assert.equal(manifest.license, 'Apache-2.0');
  assert.match(readFileSync(join(REPO, 'LICENSE'), 'utf8'), /^\s*Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
  assert.match(readFileSync(join(REPO, 'CHANGELOG.md'), 'utf8'), new RegExp(`^## ${manifest.version.replace(/\./g, '\\.')}\\b`, 'm'), 'CHANGELOG.md has a section for this version');
  assert.match(manifest.repository.url, /^https:\/\/github\.com\/[\w-]+\/[\w-]+\.git$/);
  assert.ok(manifest.keywords.includes('kyverno') && manifest.keywords.length <= 30, 'keywords (the Marketplace takes at most 30)');
  assert.match(manifest.galleryBanner.color, /^#[0-9a-f]{6}$/i);
  assert.ok(['dark', 'light'].includes(manifest.galleryBanner.theme));
});

test('every contributed command is registered by the extension', () => {
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) sources.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(REPO, 'client', 'src'));
  const text = sources.join('\n');
  const registered = new Set([...text.matchAll(/registerCommand\(\s*'([\w.]+)'/g)].map((m) => m[1]));
  const contributed = (manifest.contributes.commands as Array<{ command: string }>).map((c) => c.command);
  assert.deepEqual(contributed.filter((c) => !registered.has(c)), []);
});

test('the walkthrough covers writing, running, testing and deploying, with media that ship', () => {
  const walkthroughs = manifest.contributes.walkthroughs as Array<{ id: string; steps: Step[] }>;
  assert.equal(walkthroughs.length, 1);
  const steps = walkthroughs[0].steps;
  assert.deepEqual(steps.map((s) => s.id), ['write', 'run', 'test', 'ci', 'deploy']);
  const commands = new Set((manifest.contributes.commands as Array<{ command: string }>).map((c) => c.command));
  for (const step of steps) {
    const linked = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]);
    assert.ok(linked.length > 0, `${step.id}: the step offers a command`);
    for (const c of linked) assert.ok(commands.has(c), `${step.id}: links ${c}, which is not contributed`);
    for (const event of step.completionEvents ?? []) {
      const c = /^onCommand:(.+)$/.exec(event)?.[1];
      if (c) assert.ok(commands.has(c), `${step.id}: completion event on ${c}, which is not contributed`);
    }
    const media = step.media.markdown ?? step.media.image;
    assert.ok(media && existsSync(join(REPO, media)), `${step.id}: media ${media} exists`);
    assert.ok(media.startsWith('client/media/'), `${step.id}: media under client/media/ (shipped by .vscodeignore)`);
  }
});

let vsixDir = '';
let vsix: Map<string, number>;
let vsixBytes = 0;
before(() => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli.js')), 'dist/ is missing: run `npm run build` first');
  vsixDir = mkdtempSync(join(tmpdir(), 'ks-vsix-'));
  const file = join(vsixDir, 'kyverno-studio.vsix');
  const r = spawnSync(process.execPath, [join(REPO, 'scripts', 'package-vsix.mjs'), file], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  vsixBytes = statSync(file).size;
  vsix = zipEntries(readFileSync(file));
});
after(() => rmSync(vsixDir, { recursive: true, force: true }));

test('the .vsix ships the extension, the CLI, the language server and the webhook, and stays under 5 MB', () => {
  for (const f of ['package.json', 'dist/client.js', 'dist/cli.js', 'dist/server.js', 'dist/scan-worker.js', 'dist/webhook.js', 'client/media/icon.png', 'schemas/index.json', 'deploy/crds/index.json', 'syntaxes/kyverno.injection.tmLanguage.json', 'examples/policies/require-labels.yaml', 'packs/NOTICE', 'packs/pss-baseline/disallow-privileged-containers.yaml', 'packs/pss-restricted/require-run-as-nonroot.yaml']) {
    assert.ok(vsix.has(`extension/${f}`), `${f} missing from the .vsix`);
  }
  for (const step of manifest.contributes.walkthroughs[0].steps as Step[]) assert.ok(vsix.has(`extension/${step.media.markdown}`));
  assert.ok(vsix.has('extension/LICENSE.txt') || vsix.has('extension/LICENSE'), 'license');
  assert.ok(vsix.has('extension/changelog.md') || vsix.has('extension/CHANGELOG.md'), 'changelog');
  const stray = [...vsix.keys()].filter((f) => /\.(map|ts)$|node_modules\/|^extension\/(test|engine|cli|server\/src|scripts)\//.test(f));
  assert.deepEqual(stray, []);
  assert.ok(vsixBytes < VSIX_LIMIT, `.vsix is ${vsixBytes} bytes`);
});
