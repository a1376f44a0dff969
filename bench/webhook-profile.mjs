// CPU profiles (`--cpu-prof`) of the webhook's processes under the bench's load: the primary
// and each server process write a .cpuprofile into DIR when they exit; the no-op server too
// with --noop. Usage: node bench/webhook-profile.mjs DIR [--workers N] [--duration S] [--tree CHECKOUT] [--noop]
// Summarise with: node bench/webhook-profile.mjs --summary FILE.cpuprofile
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { webhookPolicies, webhookReview } from './webhook-workload.mjs';
import { startServer } from './server-process.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

if (args[0] === '--summary') {
  summary(args[1], Number(flag('--top', '40')));
} else {
  const out = resolve(args[0]);
  mkdirSync(out, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-prof-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  mkdirSync(join(dir, 'policies'));
  for (const p of webhookPolicies()) writeFileSync(join(dir, 'policies', `${p.metadata.name}.json.yaml`), JSON.stringify(p));
  const prof = ['--cpu-prof', `--cpu-prof-dir=${out}`];
  const server = args.includes('--noop')
    ? await startServer(process.execPath, [...prof, join(root, 'bench/webhook.mjs'), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key')])
    : await startServer(process.execPath, [...prof, join(resolve(flag('--tree', root)), 'dist/webhook.js'), '--policy', join(dir, 'policies'), '--port', '0', '--host', '127.0.0.1',
      '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', flag('--workers', '2')]);
  const load = (seconds) => autocannon({ url: `https://127.0.0.1:${server.port}/validate`, method: 'POST', headers: { 'content-type': 'application/json' }, body: webhookReview('bench-uid'), duration: seconds, connections: 16 });
  await load(4);
  const run = await load(Number(flag('--duration', '10')));
  console.log(`${run.requests.total} requests, ${run.requests.average} req/s`);
  await new Promise((r) => { server.child.once('exit', r); server.child.kill('SIGTERM'); });
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(dir, { recursive: true, force: true });
}

/** Self time per function (and per category of native work), heaviest first. */
function summary(file, top) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const self = new Map();
  let total = 0;
  for (const [id, c] of counts) {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + c);
    total += c;
  }
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, c]) => a + c, 0);
  console.log(`${file}: ${total} samples, idle ${((idle / total) * 100).toFixed(1)}%; share of busy samples:`);
  for (const [k, c] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${((c / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
