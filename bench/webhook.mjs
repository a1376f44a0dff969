// Webhook benchmark: autocannon on loopback against dist/webhook.js serving 20 validate
// policies, and in the same run against a no-op AdmissionReview server (same TLS, same HTTP
// framing, JSON parse + answer only), once as a single process and once with as many
// processes as ours. Reports the throughput ratios and p50/p99, and latency at a fixed
// 500 requests/s sent at an even pace (see pacedLoad). Results go to bench/results/ with the
// machine and date.
// Usage: node bench/webhook.mjs [--duration S] [--rounds N] [--connections N] [--workers N] [--rate R] [--verify-images-only]
//        goals: >= 80% of the 1-process no-op's throughput; p99 at 500 requests/s at most twice the no-op's.
// The verifyImages case (needs Debian's docker-registry): a cosign-signed image in a local
// registry, a verifyImages policy served on /mutate; sequential reviews once the cache is warm,
// against the no-op server: the added latency per review is the cost of a warm verification
// (goal < 1 ms).
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import cluster from 'node:cluster';
import { Agent, createServer, request } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { webhookPolicies, webhookReview } from './webhook-workload.mjs';
import { startServer as start, treeCpuSeconds } from './server-process.mjs';

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


function cannon(port, opts) {
  return autocannon({
    url: `https://127.0.0.1:${port}/validate`, method: 'POST', headers: { 'content-type': 'application/json' }, body: webhookReview('bench-uid'), ...opts,
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
  const body = webhookReview('bench-uid');
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

/** Sequential reviews over one keep-alive connection: latencies in ms. */
async function sequential(port, path, body, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const latencies = [];
  let last = '';
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    last = await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`status ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
    latencies.push(performance.now() - started);
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(3);
  return { p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), last };
}

/** A docker-registry on loopback with one cosign-signed image; null when the package is absent. */
async function signedImageRegistry(dir) {
  if (spawnSync('docker-registry', ['--version']).status !== 0) return null;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${host}\n`);
  const child = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break;
    } catch {
      if (i > 100) throw new Error('docker-registry did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const digestOf = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const blob = async (repo, bytes) => {
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    const url = new URL(start.headers.get('location'), `http://${host}`);
    url.searchParams.set('digest', digestOf(bytes));
    await fetch(url, { method: 'PUT', body: bytes });
    return { digest: digestOf(bytes), size: bytes.length };
  };
  const manifest = async (repo, ref, m) => {
    const body = Buffer.from(JSON.stringify(m));
    await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body, headers: { 'content-type': m.mediaType } });
    return digestOf(body);
  };
  const repo = 'bench/app';
  const config = await blob(repo, Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
  const layer = await blob(repo, Buffer.from('bench layer'));
  const oci = 'application/vnd.oci.image.manifest.v1+json';
  const digest = await manifest(repo, 'v1', { schemaVersion: 2, mediaType: oci, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }] });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': `${host}/${repo}` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }));
  const sigLayer = await blob(repo, payload);
  await manifest(repo, `${digest.replace(':', '-')}.sig`, {
    schemaVersion: 2, mediaType: oci, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...sigLayer, annotations: { 'dev.cosignproject.cosign/signature': sign('sha256', payload, privateKey).toString('base64') } }],
  });
  return { child, host, image: `${host}/${repo}:v1`, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The verifyImages case: warm verification cost per review through the real webhook. */
async function verifyImagesCase(dir, workers) {
  const registry = await signedImageRegistry(dir);
  if (!registry) {
    console.log('  verifyImages case skipped: docker-registry is not installed');
    return null;
  }
  const policyDir = join(dir, 'verify-policies');
  mkdirSync(policyDir, { recursive: true });
  writeFileSync(join(policyDir, 'verify.json.yaml'), JSON.stringify({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'verify-signature' },
    spec: { rules: [{ name: 'verify', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{
      imageReferences: [`${registry.host}/*`], failureAction: 'Enforce', verifyDigest: false, required: false,
      attestors: [{ entries: [{ keys: { publicKeys: registry.publicKeyPem, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } }] }],
    }] }] },
  }));
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'bench-verify', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', operation: 'CREATE', userInfo: { username: 'bench' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'default' }, spec: { containers: [{ name: 'app', image: registry.image }] } } },
  });
  const ours = await start(process.execPath, [join(root, 'dist/webhook.js'), '--policy', policyDir, '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', '1']);
  const noop = await start(process.execPath, [fileURLToPath(import.meta.url), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key')]);
  try {
    const first = await sequential(ours.port, '/mutate', body, 1);
    const answer = JSON.parse(first.last).response;
    if (!answer.allowed || !answer.patch) throw new Error(`the signed image was not verified: ${first.last}`);
    // Warm-up (JIT, registry cache), then rounds taking turns.
    await sequential(ours.port, '/mutate', body, 300);
    await sequential(noop.port, '/mutate', body, 300);
    const rounds = [];
    for (let i = 0; i < 5; i++) {
      const o = await sequential(ours.port, '/mutate', body, 400);
      const n = await sequential(noop.port, '/mutate', body, 400);
      rounds.push({ oursP50Ms: o.p50Ms, noopP50Ms: n.p50Ms, addedP50Ms: +(o.p50Ms - n.p50Ms).toFixed(3), oursP99Ms: o.p99Ms });
    }
    const added = rounds.map((r) => r.addedP50Ms).sort((a, b) => a - b)[2];
    console.log(`  verifyImages (1 signed image, warm cache, sequential, ${workers === '1' ? '' : '1 server process, '}5 rounds): p50 ours/no-op ${rounds.map((r) => `${r.oursP50Ms}/${r.noopP50Ms}`).join(', ')} ms`);
    console.log(`  median added latency per warm verification: ${added} ms (goal < 1 ms)`);
    return { rounds, medianAddedMs: added, goalBelowMs: 1, met: added < 1 };
  } finally {
    ours.child.kill('SIGTERM');
    noop.child.kill('SIGTERM');
    registry.child.kill('SIGTERM');
  }
}

async function main() {
  if (args.includes('--verify-images-only')) {
    const dir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    const verifyImages = await verifyImagesCase(dir, '1');
    if (verifyImages) {
      mkdirSync(join(root, 'bench/results'), { recursive: true });
      const file = join(root, 'bench/results', `webhook-verify-images-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavgAtStart: loadavg() }, verifyImages }, null, 2) + '\n');
      console.log(`  -> ${file}`);
    }
    return;
  }
  const duration = Number(flag('--duration', '6'));
  const connections = Number(flag('--connections', '16'));
  const workers = flag('--workers', String(Math.max(1, Math.min(4, cpus().length))));
  const rate = Number(flag('--rate', '500'));
  const roundCount = Number(flag('--rounds', '5'));
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  mkdirSync(join(dir, 'policies'));
  for (const p of webhookPolicies()) writeFileSync(join(dir, 'policies', `${p.metadata.name}.json.yaml`), JSON.stringify(p));
  const ours = await start(process.execPath, [join(root, 'dist/webhook.js'), '--policy', join(dir, 'policies'), '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', workers]);
  const noop = await start(process.execPath, [fileURLToPath(import.meta.url), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key')]);
  const noopN = await start(process.execPath, [fileURLToPath(import.meta.url), '--noop-server', join(dir, 'tls.crt'), join(dir, 'tls.key'), workers]);
  try {
    // Sanity: the bench request is admitted by all 20 policies (a denial would measure less work).
    const check = await cannon(ours.port, { amount: 1, connections: 1 });
    if (check.non2xx) throw new Error('the bench request was not answered with 200');
    for (const s of [ours, noop, noopN]) await cannon(s.port, { duration: 2, connections }); // warm-up (JIT)
    // The machine's speed drifts by tens of percent within a minute (shared VM), so the servers
    // take turns over several rounds and each round gives a ratio; the median is the result.
    const rounds = [];
    let memoryMiB;
    for (let i = 0; i < roundCount; i++) {
      const order = i % 2 === 0 ? ['noop', 'ours', 'noopN'] : ['ours', 'noopN', 'noop'];
      const round = {};
      for (const name of order) {
        const server = { ours, noop, noopN }[name];
        const cpuBefore = treeCpuSeconds(server.child.pid);
        round[name] = summary(await cannon(server.port, { duration, connections }));
        round[name].cpuMicrosecondsPerRequest = +(((treeCpuSeconds(server.child.pid) - cpuBefore) * 1e6) / round[name].total).toFixed(1);
        if (name === 'ours' && !memoryMiB) memoryMiB = { ours: treeRssMiB(ours.child.pid), noop: treeRssMiB(noop.child.pid), noopSameProcesses: treeRssMiB(noopN.child.pid) };
      }
      round.ratio = +(round.ours.requestsPerSecond / round.noop.requestsPerSecond).toFixed(3);
      round.ratioSameProcesses = +(round.ours.requestsPerSecond / round.noopN.requestsPerSecond).toFixed(3);
      round.cpuRatio = +(round.noop.cpuMicrosecondsPerRequest / round.ours.cpuMicrosecondsPerRequest).toFixed(3);
      rounds.push(round);
    }
    const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const ratio = median(rounds.map((r) => r.ratio));
    const ratioN = median(rounds.map((r) => r.ratioSameProcesses));
    const cpuRatio = median(rounds.map((r) => r.cpuRatio));
    const mid = rounds.find((r) => r.ratio === ratio);
    const oursMax = mid.ours;
    const noopMax = mid.noop;
    // The same for latency at a fixed rate: a stall of the machine shows as one bad round.
    const paced = [];
    for (let i = 0; i < roundCount; i++) {
      const round = {};
      for (const name of i % 2 === 0 ? ['ours', 'noop'] : ['noop', 'ours']) round[name] = await pacedLoad({ ours, noop }[name].port, rate, duration, connections);
      paced.push(round);
    }
    const p99s = paced.map((r) => r.ours.p99Ms);
    const oursRate = paced.find((r) => r.ours.p99Ms === median(p99s)).ours;
    const noopRate = paced.map((r) => r.noop).find((n) => n.p99Ms === median(paced.map((r) => r.noop.p99Ms)));
    const result = {
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), loadavgAtStart: loadavg(), platform: `${platform()} ${release()}`, node: process.version },
      setup: { policies: 20, serverProcesses: Number(workers), connections, rounds: roundCount, durationSeconds: duration, fixedRate: rate, fixedRateLoad: 'even pace, open loop, latency from the due time' },
      maxThroughput: { medianRatio: ratio, medianRatioSameProcesses: ratioN, medianCpuRatio: cpuRatio, rounds },
      fixedRate: { medianRoundOurs: oursRate, medianRoundNoop: noopRate, rounds: paced },
      residentMemoryAfterMaxRunMiB: memoryMiB,
      goals: { ratioAtLeast: 0.8, ratioMet: ratio >= 0.8, ratioSameProcessesMet: ratioN >= 0.8, p99AtMostNoopTimes: 2, p99Met: oursRate.p99Ms <= 2 * noopRate.p99Ms },
    };
    result.verifyImages = await verifyImagesCase(dir, workers);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    const file = join(root, 'bench/results', `webhook-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`webhook bench (${result.machine.cpu}, ${result.machine.cores} cores, load ${loadavg().map((l) => l.toFixed(1)).join('/')})`);
    console.log(`  max throughput, ${roundCount} rounds taking turns (req/s: ours with ${workers} processes / no-op 1 process / no-op ${workers} processes):`);
    for (const r of rounds) {
      console.log(`    ${r.ours.requestsPerSecond.toFixed(0)} / ${r.noop.requestsPerSecond.toFixed(0)} / ${r.noopN.requestsPerSecond.toFixed(0)} -> ${(r.ratio * 100).toFixed(1)}% / ${(r.ratioSameProcesses * 100).toFixed(1)}%`);
    }
    console.log(`  median ratio: ${(ratio * 100).toFixed(1)}% of the 1-process no-op (goal >= 80%), ${(ratioN * 100).toFixed(1)}% of the ${workers}-process no-op`);
    console.log(`  CPU per request (us, all processes: ours / no-op 1 process): ${rounds.map((r) => `${r.ours.cpuMicrosecondsPerRequest} / ${r.noop.cpuMicrosecondsPerRequest}`).join(', ')} -> median ${(cpuRatio * 100).toFixed(1)}% (the throughput ratio on an idle machine)`);
    console.log(`  at max (median round): ours p50 ${oursMax.p50Ms} ms p99 ${oursMax.p99Ms} ms; no-op p50 ${noopMax.p50Ms} ms p99 ${noopMax.p99Ms} ms`);
    console.log(`  at ${rate} req/s (even pace), p99 per round: ours ${p99s.join(' / ')} ms; no-op ${paced.map((r) => r.noop.p99Ms).join(' / ')} ms`);
    console.log(`  median round: ours p50 ${oursRate.p50Ms} ms p99 ${oursRate.p99Ms} ms max ${oursRate.maxMs} ms (goal p99 <= 2x the no-op's); no-op p50 ${noopRate.p50Ms} p99 ${noopRate.p99Ms} ms`);
    console.log(`  resident memory (all processes): ours ${memoryMiB.ours} MiB, no-op ${memoryMiB.noop} MiB, no-op x${workers} ${memoryMiB.noopSameProcesses} MiB`);
    console.log(`  -> ${file}`);
  } finally {
    for (const s of [ours, noop, noopN]) s.child.kill('SIGTERM');
  }
}
