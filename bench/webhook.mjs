// Webhook benchmark: autocannon on loopback against dist/webhook.js serving 20 validate
// policies, and in the same run against a no-op AdmissionReview server (same TLS, same HTTP
// framing, JSON parse + answer only), once as a single process and once with as many
// processes as ours. Reports the throughput ratios and p50/p99, and latency at a fixed
// 500 requests/s sent at an even pace (see pacedLoad). Results go to bench/results/ with the
// machine and date.
// Usage: node bench/webhook.mjs [--duration S] [--connections N] [--workers N] [--rate R]
//        goals: >= 70% of the no-op throughput; p99 < 10 ms at 500 requests/s.
import { spawn, execFileSync } from 'node:child_process';
import cluster from 'node:cluster';
import { Agent, createServer, request } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

// --- no-op server mode (a child process, so both servers get the same process setup) -----
if (args[0] === '--noop-server') {
  const [, cert, key, processes = '1'] = args;
  if (cluster.isPrimary && Number(processes) > 1) {
    // Same shape as ours: a primary that accepts and hands connections to N processes.
    cluster.schedulingPolicy = cluster.SCHED_RR;
    for (let i = 0; i < Number(processes); i++) cluster.fork();
    let port = 0;
    cluster.on('listening', (_w, address) => {
      if (!port) process.stderr.write(`serving 0 policies on https://127.0.0.1:${(port = address.port)}\n`);
    });
    process.on('SIGTERM', () => process.exit(0));
  } else {
    noopServer(cert, key);
  }
} else {
  await main();
}

function noopServer(cert, key) {
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  // In a cluster, port 0 is chosen once by the primary and shared by every process.
  server.listen(0, '127.0.0.1', () => {
    if (!cluster.isWorker) process.stderr.write(`serving 0 policies on https://127.0.0.1:${server.address().port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function policies() {
  const checks = [
    ['require-app-label', { metadata: { labels: { 'app.kubernetes.io/name': '?*' } } }],
    ['require-team-label', { metadata: { labels: { team: '?*' } } }],
    ['disallow-latest-tag', { spec: { containers: [{ image: '!*:latest' }] } }],
    ['require-image-tag', { spec: { containers: [{ image: '*:*' }] } }],
    ['require-requests', { spec: { containers: [{ resources: { requests: { memory: '?*', cpu: '?*' } } }] } }],
    ['require-memory-limit', { spec: { containers: [{ resources: { limits: { memory: '?*' } } }] } }],
    ['disallow-privileged', { spec: { '=(securityContext)': { '=(privileged)': 'false' }, containers: [{ '=(securityContext)': { '=(privileged)': 'false' } }] } }],
    ['disallow-host-network', { spec: { '=(hostNetwork)': 'false' } }],
    ['disallow-host-pid', { spec: { '=(hostPID)': 'false' } }],
    ['disallow-host-ipc', { spec: { '=(hostIPC)': 'false' } }],
    ['disallow-host-path', { spec: { '=(volumes)': [{ 'X(hostPath)': 'null' }] } }],
    ['require-run-as-non-root', { spec: { securityContext: { runAsNonRoot: true } } }],
    ['disallow-privilege-escalation', { spec: { containers: [{ securityContext: { allowPrivilegeEscalation: 'false' } }] } }],
    ['require-ro-rootfs', { spec: { containers: [{ securityContext: { readOnlyRootFilesystem: true } }] } }],
    ['restrict-registries', { spec: { containers: [{ image: 'registry.example.com/*' }] } }],
    ['require-liveness-probe', { spec: { containers: [{ livenessProbe: { periodSeconds: '>0' } }] } }],
    ['require-readiness-probe', { spec: { containers: [{ readinessProbe: { periodSeconds: '>0' } }] } }],
    ['restrict-seccomp', { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault | Localhost' } } } }],
    ['disallow-host-ports', { spec: { containers: [{ '=(ports)': [{ 'X(hostPort)': 'null' }] }] } }],
  ];
  const out = checks.map(([name, pattern], i) => ({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      validationFailureAction: i % 2 ? 'Audit' : 'Enforce',
      background: true,
      rules: [{ name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${name} failed`, pattern } }],
    },
  }));
  out.push({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'deny-default-namespace' },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{
        name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] },
        validate: { message: 'use a namespace', deny: { conditions: { any: [{ key: '{{ request.namespace }}', operator: 'Equals', value: 'default' }] } } },
      }],
    },
  });
  return out;
}

function review(uid) {
  const image = 'registry.example.com/team/app:1.2.3';
  const container = {
    name: 'app', image,
    resources: { requests: { memory: '64Mi', cpu: '50m' }, limits: { memory: '128Mi' } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false },
    livenessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 10 },
    readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 10 },
    ports: [{ containerPort: 8080 }],
  };
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'bench', namespace: 'apps', labels: { 'app.kubernetes.io/name': 'bench', team: 'perf' } },
    spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [container] },
  };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'apps', userInfo: { username: 'bench' }, object: pod },
  });
}

function start(cmd, argv) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((res, rej) => {
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
      const m = /serving \d+ policies on https:\/\/[^:]+:(\d+)/.exec(err);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => rej(new Error(`server exited ${code}: ${err}`)));
  });
}

function cannon(port, opts) {
  return autocannon({
    url: `https://127.0.0.1:${port}/validate`, method: 'POST', headers: { 'content-type': 'application/json' }, body: review('bench-uid'), ...opts,
  });
}

/** Resident memory of a server and its child processes, in MiB (Linux /proc). */
function treeRssMiB(pid) {
  let kib = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = /PPid:\s+(\d+)/.exec(status)?.[1];
      if (d === String(pid) || ppid === String(pid)) kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return +(kib / 1024).toFixed(1);
}

function summary(r) {
  return {
    requestsPerSecond: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max,
    non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, total: r.requests.total,
  };
}

/**
 * `rate` requests per second at an even pace over keep-alive connections, open loop: latency
 * counts from when a request was due, so a stalled server cannot hide queueing (autocannon's
 * overallRate sends each connection's share in a burst at the top of every second, which
 * measures burst queueing instead).
 */
async function pacedLoad(port, rate, seconds, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const body = review('bench-uid');
  const latencies = [];
  let failures = 0;
  const total = rate * seconds;
  const start = performance.now() + 50;
  await new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const finish = () => {
      if (++done === total) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const due = start + (sent * 1000) / rate;
        sent++;
        const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - due);
            else failures++;
            finish();
          });
        });
        req.on('error', () => {
          failures++;
          finish();
        });
        req.end(body);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  return { requestsPerSecond: rate, total, failures, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: +latencies[latencies.length - 1].toFixed(2) };
}

async function main() {
  const duration = Number(flag('--duration', '10'));
  const connections = Number(flag('--connections', '16'));
  const workers = flag('--workers', String(Math.max(1, Math.min(4, cpus().length))));
  const rate = Number(flag('--rate', '500'));
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  mkdirSync(join(dir, 'policies'));
  for (const p of policies()) writeFileSync(join(dir, 'policies', `${p.metadata.name}.json.yaml`), JSON.stringify(p));
  const ours = await start(process.execPath, [join(root, 'dist/webhook.js'), '--policy', join(dir, 'policies'), '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', workers]);
  const noop = await start(process.execPath, [fileURLToPath(import.meta.url), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key')]);
  const noopN = await start(process.execPath, [fileURLToPath(import.meta.url), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key'), workers]);
  try {
    // Sanity: the bench request is admitted by all 20 policies (a denial would measure less work).
    const check = await cannon(ours.port, { amount: 1, connections: 1 });
    if (check.non2xx) throw new Error('the bench request was not answered with 200');
    for (const s of [ours, noop, noopN]) await cannon(s.port, { duration: 2, connections }); // warm-up (JIT)
    const noopMax = summary(await cannon(noop.port, { duration, connections }));
    const oursMax = summary(await cannon(ours.port, { duration, connections }));
    const memoryMiB = { ours: treeRssMiB(ours.child.pid), noop: treeRssMiB(noop.child.pid), noopSameProcesses: treeRssMiB(noopN.child.pid) };
    const noopNMax = summary(await cannon(noopN.port, { duration, connections }));
    const oursRate = await pacedLoad(ours.port, rate, duration, connections);
    const noopRate = await pacedLoad(noop.port, rate, duration, connections);
    const ratio = oursMax.requestsPerSecond / noopMax.requestsPerSecond;
    const ratioN = oursMax.requestsPerSecond / noopNMax.requestsPerSecond;
    const result = {
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), loadavgAtStart: loadavg(), platform: `${platform()} ${release()}`, node: process.version },
      setup: { policies: 20, serverProcesses: Number(workers), connections, durationSeconds: duration, fixedRate: rate, fixedRateLoad: 'even pace, open loop, latency from the due time' },
      maxThroughput: { ours: oursMax, noop: noopMax, ratio: +ratio.toFixed(3), noopSameProcesses: noopNMax, ratioSameProcesses: +ratioN.toFixed(3) },
      fixedRate: { ours: oursRate, noop: noopRate },
      residentMemoryAfterMaxRunMiB: memoryMiB,
      goals: { ratioAtLeast: 0.7, ratioMet: ratio >= 0.7, ratioSameProcessesMet: ratioN >= 0.7, p99BelowMs: 10, p99Met: oursRate.p99Ms < 10 },
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    const file = join(root, 'bench/results', `webhook-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`webhook bench (${result.machine.cpu}, ${result.machine.cores} cores, load ${loadavg().map((l) => l.toFixed(1)).join('/')})`);
    console.log(`  max throughput: ours (${workers} processes) ${oursMax.requestsPerSecond.toFixed(0)} req/s`);
    console.log(`    no-op, 1 process: ${noopMax.requestsPerSecond.toFixed(0)} req/s -> ratio ${(ratio * 100).toFixed(1)}% (goal >= 70%)`);
    console.log(`    no-op, ${workers} processes: ${noopNMax.requestsPerSecond.toFixed(0)} req/s -> ratio ${(ratioN * 100).toFixed(1)}%`);
    console.log(`  at max: ours p50 ${oursMax.p50Ms} ms p99 ${oursMax.p99Ms} ms; no-op p50 ${noopMax.p50Ms} ms p99 ${noopMax.p99Ms} ms`);
    console.log(`  at ${rate} req/s (even pace): ours p50 ${oursRate.p50Ms} ms p99 ${oursRate.p99Ms} ms max ${oursRate.maxMs} ms (goal p99 < 10 ms); no-op p50 ${noopRate.p50Ms} p99 ${noopRate.p99Ms} ms`);
    console.log(`  resident memory (all processes): ours ${memoryMiB.ours} MiB, no-op ${memoryMiB.noop} MiB, no-op x${workers} ${memoryMiB.noopSameProcesses} MiB`);
    console.log(`  -> ${file}`);
  } finally {
    for (const s of [ours, noop, noopN]) s.child.kill('SIGTERM');
  }
}
