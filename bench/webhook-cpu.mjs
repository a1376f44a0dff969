// CPU per review of the webhook's server processes, next to the one-process no-op server
// (bench/webhook.mjs --noop-server), in interleaved rounds: on a shared machine throughput
// follows the other tenants, CPU time per request much less so. With --tree DIR a second
// checkout's dist/webhook.js (built there) runs in the same rounds: a before/after pair.
// Usage: node bench/webhook-cpu.mjs [--rounds N] [--duration S] [--warmup S] [--workers N] [--tree DIR]
// A fresh server compiles its hot code in background threads for its first seconds, counted in
// its CPU time: the warm-up (default 6 s each) keeps that out of the rounds; on a loaded machine
// the first round may still carry some of it.
// Prints, per server, CPU microseconds per request (all its processes, user + system, from
// /proc) and requests per second for each round, and the medians; writes nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { webhookPolicies, webhookReview } from './webhook-workload.mjs';
import { startServer, treeCpuSeconds as cpuSeconds } from './server-process.mjs';

const start = (argv) => startServer(process.execPath, argv);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rounds = Number(flag('--rounds', '4'));
const duration = Number(flag('--duration', '4'));
const workers = flag('--workers', '1');
const tree = flag('--tree', '');
const warmup = Number(flag('--warmup', '6'));


const load = (port, seconds) => autocannon({
  url: `https://127.0.0.1:${port}/validate`, method: 'POST', headers: { 'content-type': 'application/json' }, body: webhookReview('bench-uid'), duration: seconds, connections: 16,
});

const dir = mkdtempSync(join(tmpdir(), 'ks-bench-cpu-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
mkdirSync(join(dir, 'policies'));
for (const p of webhookPolicies()) writeFileSync(join(dir, 'policies', `${p.metadata.name}.json.yaml`), JSON.stringify(p));
const webhook = (checkout) => start([join(checkout, 'dist/webhook.js'), '--policy', join(dir, 'policies'), '--port', '0', '--host', '127.0.0.1',
  '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', workers]);
const servers = { ours: await webhook(root) };
if (tree) servers.tree = await webhook(resolve(tree));
servers.noop = await start([join(root, 'bench/webhook.mjs'), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key')]);
try {
  for (const s of Object.values(servers)) await load(s.port, warmup);
  const results = Object.fromEntries(Object.keys(servers).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = Object.keys(servers);
    if (r % 2) order.reverse();
    for (const name of order) {
      const before = cpuSeconds(servers[name].child.pid);
      const run = await load(servers[name].port, duration);
      results[name].push({ us: ((cpuSeconds(servers[name].child.pid) - before) * 1e6) / run.requests.total, rps: run.requests.average, failed: run.errors + run.non2xx + run.timeouts });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`CPU per review, ${rounds} rounds of ${duration} s, ${workers} server process(es); no-op: 1 process`);
  for (const [name, rs] of Object.entries(results)) {
    const label = name === 'tree' ? `tree ${tree}` : name === 'ours' ? `this checkout` : 'no-op';
    const failed = rs.reduce((a, r) => a + r.failed, 0);
    console.log(`  ${label}: ${rs.map((r) => r.us.toFixed(0)).join(' / ')} us -> median ${median(rs.map((r) => r.us)).toFixed(0)} us; req/s ${rs.map((r) => r.rps.toFixed(0)).join(' / ')}${failed ? `; ${failed} failed` : ''}`);
  }
  const ratio = median(results.noop.map((r) => r.us)) / median(results.ours.map((r) => r.us));
  console.log(`  no-op CPU / ours: ${(ratio * 100).toFixed(1)}%`);
} finally {
  for (const s of Object.values(servers)) s.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
