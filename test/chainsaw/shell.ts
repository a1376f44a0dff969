/**
 * Chainsaw's `script` and `command` operations, run for real: `sh -c <content>` (a script) or
 * the entrypoint with its arguments (a command), in the scenario's folder, with chainsaw's
 * environment (the operation's `env`, `NAMESPACE`, `KUBECONFIG` pointing at a kubeconfig
 * written for the step), and on PATH a `kubectl` that forwards its argv, working directory
 * and stdin over a unix socket to the runner, which answers from its store (kubectl.ts).
 * `kyverno` (and `kubectl-kyverno`) asks the runner the same way, which lets the shim run our
 * CLI's bundle for real (unless the call needs what is not offline); what the CLI reads from a
 * cluster it reads from the store, over the API endpoint the step's kubeconfig points at
 * (api-http.ts). Tools that would reach a real cluster or the network (helm, cosign, curl...)
 * are stubs that report themselves; whatever a stub or kubectl could not do faithfully makes the
 * operation unsupported, whatever the script's exit code (scripts often turn a failure into
 * `exit 0`). `sleep` returns at once: no time passes offline, as for the runner's own sleeps.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ApiEndpoint } from './api-http';

/** Chainsaw's default timeout of script and command operations (its `exec` timeout). */
export const DEFAULT_EXEC_TIMEOUT_MS = 5_000;

/** Tools that reach a real cluster, a registry or the network: not offline. */
const STUBBED_TOOLS = ['helm', 'cosign', 'curl', 'wget', 'kind', 'docker', 'crane', 'notation'];

/** The names Kyverno's CLI is installed under (Kyverno's CI puts `kyverno` on PATH; kubectl's plugin is `kubectl-kyverno`). */
const KYVERNO_CLI_NAMES = ['kyverno', 'kubectl-kyverno'];

/** Our CLI's bundle, as the repository's CLI tests run it (`npm run build` makes it). */
export const CLI_BUNDLE = resolve(__dirname, '../../dist/cli.js');

export interface ShimCall {
  tool: string;
  argv: string[];
  cwd: string;
  stdin?: string;
  kubeconfig?: string;
}

export interface ShimAnswer {
  stdout: string;
  stderr: string;
  code: number;
  /** A program the shim runs for real instead (its argv appended), whose outcome is the call's. */
  exec?: string[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Chainsaw's `$error`: null on success, else Go's exec error text (`exit status N`). */
  error: string | null;
  /** What the run needed that is not offline (kubectl commands, stubbed tools); non-empty = unsupported. */
  unsupported: string[];
  timedOut: boolean;
}

/**
 * The shim: a Node script (the runner's own node) that sends its call and prints the answer.
 * It reads stdin only when an argument names it (`-f -`, `--patch-file=/dev/stdin`), so a
 * command without piped input never waits; a runner that went away ends it with an error.
 */
function shimSource(): string {
  return `#!${process.execPath}
'use strict';
const net = require('node:net');
const path = require('node:path');
const argv = process.argv.slice(2);
const tool = path.basename(process.argv[1]);
// A program the runner lets run for real reads its own stdin.
const runsForReal = ${JSON.stringify(KYVERNO_CLI_NAMES)}.includes(tool);
const wantsStdin = !runsForReal && argv.some((a) => a === '-' || a === '/dev/stdin' || /=(-|\\/dev\\/stdin)$/.test(a));
function send(stdin) {
  const socket = net.connect(process.env.CHAINSAW_OFFLINE_SOCKET);
  let data = '';
  socket.setEncoding('utf8');
  socket.setTimeout(120000, () => { process.stderr.write(tool + ': the offline runner did not answer\\n'); process.exit(255); });
  // kubectl proxy keeps its side open: the runner learns it stopped when the connection ends.
  const call = JSON.stringify({ tool, argv, cwd: process.cwd(), stdin, kubeconfig: process.env.KUBECONFIG }) + '\\n';
  socket.on('connect', () => (tool === 'kubectl' && argv[0] === 'proxy' ? socket.write(call) : socket.end(call)));
  let held = false;
  socket.on('data', (d) => {
    data += d;
    // A held answer (kubectl proxy): printed at once, the process then serves until it is killed.
    const nl = data.indexOf('\\n');
    if (held || nl < 0) return;
    const answer = JSON.parse(data.slice(0, nl));
    if (!answer.hold) return;
    held = true;
    process.stdout.write(answer.stdout);
    process.stderr.write(answer.stderr);
  });
  socket.on('error', (e) => { if (held) process.exit(0); process.stderr.write(tool + ': the offline runner is gone: ' + e.message + '\\n'); process.exit(255); });
  socket.on('close', () => {
    if (held) process.exit(0);
    let answer;
    try { answer = JSON.parse(data); } catch { process.stderr.write(tool + ': no answer from the offline runner\\n'); process.exit(255); }
    if (answer.exec) {
      const run = require('node:child_process').spawnSync(answer.exec[0], [...answer.exec.slice(1), ...argv], { stdio: 'inherit' });
      process.exit(run.status === null ? 255 : run.status);
    }
    process.stdout.write(answer.stdout, () => process.stderr.write(answer.stderr, () => process.exit(answer.code)));
  });
}
if (wantsStdin) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => send(Buffer.concat(chunks).toString('utf8')));
  process.stdin.on('error', () => send(''));
} else send(undefined);
`;
}

/** The kubeconfig chainsaw writes for a step (one cluster, user and context, all named chainsaw). */
export function kubeconfigText(api: ApiEndpoint | undefined): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    ...(api ? [`    certificate-authority-data: ${Buffer.from(api.caPem).toString('base64')}`] : []),
    `    server: ${api?.url ?? 'https://chainsaw-offline.invalid'}`,
    '  name: chainsaw',
    'contexts:',
    '- context:',
    '    cluster: chainsaw',
    '    user: chainsaw',
    '  name: chainsaw',
    'current-context: chainsaw',
    'preferences: {}',
    'users:',
    '- name: chainsaw',
    '  user: {}',
    '',
  ].join('\n');
}

export interface ExecSpec {
  /** A script's content (run by `sh -c`), or a command's entrypoint and arguments. */
  script?: string;
  entrypoint?: string;
  args?: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Answers a kubectl call (kubectl.ts over the runner's store); throws to mark it unsupported. */
  answer: (call: ShimCall, kubeconfig: string) => Promise<ShimAnswer>;
  /** Why a call of our CLI cannot be answered offline (it would need what the runner does not have), or undefined. */
  cliLimit?: (call: ShimCall) => string | undefined;
  /** Starts the API endpoint the step's kubeconfig points at (api-http.ts over the runner's store); without it, none. */
  apiEndpoint?: () => Promise<ApiEndpoint>;
  /** The API server as `kubectl proxy` forwards to it (curl to a running proxy); without it curl is not offline. */
  proxied?: (request: ProxiedRequest) => Promise<ProxiedResponse>;
}

/** An HTTP request that reached the API server through `kubectl proxy`. */
export interface ProxiedRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: string;
}

export interface ProxiedResponse {
  status: number;
  body: string;
}

/** The reason phrases curl -v shows for the statuses the offline API server answers. */
const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error' };

/** The port `kubectl proxy` serves on (`--port`/`-p`, 8001 by default); undefined for a proxy offline does not model. */
function proxyPort(argv: string[]): number | undefined {
  let port = 8001;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
    if (/^(--port|-p)(=|$)/.test(a)) {
      if (!/^\d+$/.test(value ?? '')) return undefined;
      port = Number(value);
      if (!a.includes('=')) i++;
    } else return undefined;
  }
  return port;
}

/**
 * curl as the scenarios call it on a `kubectl proxy` (`-f -s -S -L -v`, `-o/--output /dev/null`,
 * `-H`, `-X`, `-d`/`--data` with `@file`): the request to the API server through the proxy,
 * answered in curl's ways (the body on stdout, `-f`'s exit 22, `-v`'s exchange on stderr). A
 * proxy not started yet refuses the connection (exit 7), as its port does.
 */
async function curl(call: ShimCall, proxies: Set<number>, proxied: NonNullable<ExecSpec['proxied']>): Promise<ShimAnswer> {
  let method: string | undefined;
  let output: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  const headers: string[] = [];
  const opts = new Set<string>();
  const argv = call.argv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new ShimUnsupported(`curl ${argv.join(' ')}`);
      return argv[++i];
    };
    if (a === '-o' || a === '--output') output = next();
    else if (a === '-H' || a === '--header') headers.push(next());
    else if (a === '-X' || a === '--request') method = next();
    else if (a === '-d' || a === '--data' || a === '--data-binary' || a === '--data-raw') {
      const d = next();
      body = a !== '--data-raw' && d.startsWith('@') ? readFileSync(join(call.cwd, d.slice(1)), 'utf8') : d;
      if (a === '-d' || a === '--data') body = body.replace(/[\r\n]/g, '');
    } else if (/^-[fsSLv]+$/.test(a)) for (const c of a.slice(1)) opts.add(c);
    else if (['--fail', '--silent', '--show-error', '--location', '--verbose'].includes(a)) opts.add({ '--fail': 'f', '--silent': 's', '--show-error': 'S', '--location': 'L', '--verbose': 'v' }[a]!);
    else if (!a.startsWith('-') && url === undefined) url = a;
    else throw new ShimUnsupported(`curl ${argv.join(' ')}`);
  }
  const target = url && /^(?:http:\/\/)?(localhost|127\.0\.0\.1):(\d+)(\/.*)?$/.exec(url);
  if (!target || (output !== undefined && output !== '/dev/null')) throw new ShimUnsupported(`curl ${argv.join(' ')}`);
  const port = Number(target[2]);
  const path = target[3] ?? '/';
  // The proxy is a process of its own: the script's retry delays (no time offline) stand for its start-up.
  for (let waited = 0; !proxies.has(port) && waited < 2_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const showErrors = !opts.has('s') || opts.has('S');
  if (!proxies.has(port)) return { stdout: '', stderr: showErrors ? `curl: (7) Failed to connect to ${target[1]} port ${port} after 0 ms: Couldn't connect to server\n` : '', code: 7 };
  const contentType = headers.map((h) => /^content-type:\s*(.*)$/i.exec(h)?.[1]).find((v) => v !== undefined) ?? (body !== undefined ? 'application/x-www-form-urlencoded' : undefined);
  const verb = method ?? (body !== undefined ? 'POST' : 'GET');
  const response = await proxied({ method: verb, path, contentType, ...(body !== undefined ? { body } : {}) });
  const failed = opts.has('f') && response.status >= 400;
  let stderr = '';
  if (opts.has('v')) stderr += `*   Trying ${target[1] === 'localhost' ? '127.0.0.1' : target[1]}:${port}...\n* Connected to ${target[1]} port ${port}\n> ${verb} ${path} HTTP/1.1\n> Host: ${target[1]}:${port}\n>\n< HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? ''}\n<\n`;
  if (failed && showErrors) stderr += `curl: (22) The requested URL returned error: ${response.status}\n`;
  return { stdout: failed || output !== undefined ? '' : response.body, stderr, code: failed ? 22 : 0 };
}

/**
 * The upper-case variables a script reads that neither its environment nor the script itself
 * sets (an assignment, `for X in`, `read X`), and that have no `${X:-default}`: on Kyverno's CI
 * they come from the workflow (a test image pushed to a registry, say), which offline has none.
 */
export function unsetVariables(script: string, env: Record<string, string | undefined>): string[] {
  const assigned = new Set<string>();
  for (const m of script.matchAll(/(?:^|[\s;&|(`])(?:export\s+|local\s+|readonly\s+)?([A-Za-z_]\w*)=/g)) assigned.add(m[1]);
  for (const m of script.matchAll(/\b(?:for|read(?:\s+-\w+)*)\s+([A-Za-z_]\w*)/g)) assigned.add(m[1]);
  const unset = new Set<string>();
  for (const m of script.matchAll(/\$(?:\{([A-Z_][A-Z0-9_]*)(:?[-=?+])?[^}]*\}|([A-Z_][A-Z0-9_]*))/g)) {
    const name = m[1] ?? m[3];
    if (m[2]) continue;
    if (env[name] === undefined && !assigned.has(name)) unset.add(name);
  }
  return [...unset];
}

/** Go's os.Expand over a command's arguments: `$NAME` and `${NAME}` from the operation's environment. */
export function expandArgs(args: string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced: string | undefined, plain: string | undefined) => env[(braced ?? plain)!] ?? ''));
}

/** Runs a script or command with the shim; bounded by the timeout, its socket and folder removed after. */
export async function runWithShim(spec: ExecSpec, isUnsupported: (e: unknown) => string | undefined): Promise<ExecResult> {
  const dir = mkdtempSync(join(tmpdir(), 'chainsaw-offline-'));
  const bin = join(dir, 'bin');
  const socketPath = join(dir, 'kubectl.sock');
  const kubeconfig = join(dir, 'kubeconfig');
  const unsupported: string[] = [];
  /** The ports of the `kubectl proxy` processes running now. */
  const proxies = new Set<number>();
  let server: Server | undefined;
  let api: ApiEndpoint | undefined;
  const sockets = new Set<Socket>();
  // The time the runner spends answering kubectl (the API server's work, elsewhere in a
  // cluster) does not count against the script's timeout: a loaded machine must not fail it.
  let answering = 0;
  let answeredMs = 0;
  let answeringSince = 0;
  try {
    api = await spec.apiEndpoint?.();
    writeFileSync(kubeconfig, kubeconfigText(api));
    const shim = join(dir, 'shim.js');
    writeFileSync(shim, shimSource());
    chmodSync(shim, 0o755);
    mkdirSync(bin);
    for (const tool of ['kubectl', ...KYVERNO_CLI_NAMES, ...STUBBED_TOOLS]) symlinkSync(shim, join(bin, tool));
    // sleep: no time passes offline (the runner's sleep operations are no-ops too).
    writeFileSync(join(bin, 'sleep'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'sleep'), 0o755);
    // Half-open: the shim ends its side once its call is sent, then waits for the answer.
    server = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let data = '';
      socket.setEncoding('utf8');
      socket.on('error', () => undefined);
      let proxying: number | undefined;
      socket.on('data', (d) => {
        data += d;
        // kubectl proxy: served while its process runs (the time is not the runner answering).
        if (proxying !== undefined || !data.endsWith('\n')) return;
        let call: ShimCall;
        try {
          call = JSON.parse(data) as ShimCall;
        } catch {
          return;
        }
        if (call.tool !== 'kubectl' || call.argv[0] !== 'proxy') return;
        const port = spec.proxied ? proxyPort(call.argv) : undefined;
        if (port === undefined || proxies.has(port)) {
          const reason = `kubectl ${call.argv.join(' ')}${port === undefined ? '' : ' (its port held by another proxy of the script)'}`;
          unsupported.push(reason);
          socket.end(JSON.stringify({ stdout: '', stderr: `${reason}: not supported offline\n`, code: 1 }));
          return;
        }
        proxying = port;
        proxies.add(port);
        socket.write(JSON.stringify({ hold: true, stdout: `Starting to serve on 127.0.0.1:${port}\n`, stderr: '', code: 0 }) + '\n');
      });
      socket.on('end', () => {
        if (socket.writableEnded) return; // an unsupported kubectl proxy, answered already
        if (proxying !== undefined) {
          // The proxy's process ended (killed): its port is closed.
          proxies.delete(proxying);
          socket.destroy();
          return;
        }
        void (async () => {
          let answer: ShimAnswer;
          try {
            const call = JSON.parse(data) as ShimCall;
            if (KYVERNO_CLI_NAMES.includes(call.tool)) {
              // Our CLI in Kyverno's CLI's place, run by the runner's node, unless it would need what is not offline.
              if (!existsSync(CLI_BUNDLE)) throw new ShimUnsupported(`${call.tool}: our CLI's bundle ${CLI_BUNDLE} is missing (npm run build)`);
              const limit = spec.cliLimit?.(call);
              if (limit !== undefined) throw new ShimUnsupported(`${call.tool} ${call.argv.join(' ')}: ${limit}`);
              socket.end(JSON.stringify({ stdout: '', stderr: '', code: 0, exec: [process.execPath, CLI_BUNDLE] } satisfies ShimAnswer));
              return;
            }
            if (call.tool === 'curl' && spec.proxied) {
              socket.end(JSON.stringify(await curl(call, proxies, spec.proxied)));
              return;
            }
            if (call.tool !== 'kubectl') throw new ShimUnsupported(`${call.tool} ${call.argv.join(' ')}`.trim());
            if (answering++ === 0) answeringSince = Date.now();
            try {
              answer = await spec.answer(call, kubeconfig);
            } finally {
              if (--answering === 0) answeredMs += Date.now() - answeringSince;
            }
          } catch (e) {
            const reason = e instanceof ShimUnsupported ? e.message : isUnsupported(e);
            if (reason === undefined) {
              answer = { stdout: '', stderr: `offline runner error: ${(e as Error).message}\n`, code: 255 };
              unsupported.push(`runner error: ${(e as Error).message}`);
            } else {
              unsupported.push(reason);
              answer = { stdout: '', stderr: `${reason}: not supported offline\n`, code: 1 };
            }
          }
          socket.end(JSON.stringify(answer));
        })();
      });
    });
    await new Promise<void>((ok, ko) => {
      server!.once('error', ko);
      server!.listen(socketPath, ok);
    });
    const env = {
      ...process.env,
      ...spec.env,
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      KUBECONFIG: kubeconfig,
      CHAINSAW_OFFLINE_SOCKET: socketPath,
    };
    const [file, argv] = spec.script !== undefined ? ['sh', ['-c', spec.script]] : [spec.entrypoint!, expandArgs(spec.args ?? [], spec.env)];
    const child = spawn(file, argv, { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const started = Date.now();
    const timer = setInterval(() => {
      const answeringNow = answering > 0 ? Date.now() - answeringSince : 0;
      if (Date.now() - started - answeredMs - answeringNow < spec.timeoutMs) return;
      timedOut = true;
      clearInterval(timer);
      // The whole process group: the shell and whatever it started.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, Math.min(100, spec.timeoutMs));
    const { code, signal, spawnError } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((done) => {
      child.once('error', (e) => done({ code: null, signal: null, spawnError: e }));
      child.once('close', (c, s) => done({ code: c, signal: s }));
    });
    clearInterval(timer);
    let error: string | null = null;
    // Go's exec error texts, which chainsaw gives as $error.
    if (spawnError) error = `exec: "${file}": ${/ENOENT/.test(spawnError.message) ? 'executable file not found in $PATH' : spawnError.message}`;
    else if (timedOut) error = 'signal: killed';
    else if (signal) error = `signal: ${signal === 'SIGKILL' ? 'killed' : signal.toLowerCase().replace(/^sig/, '')}`;
    else if (code !== 0) error = `exit status ${code}`;
    // A request the API endpoint could not answer as an API server would: the CLI went on with a 404.
    for (const request of api?.unserved ?? []) unsupported.push(`the API server request ${request}`);
    return { stdout: stdout.trim(), stderr: stderr.trim(), error, unsupported, timedOut };
  } finally {
    await api?.close();
    for (const s of sockets) s.destroy();
    if (server) await new Promise<void>((done) => server!.close(() => done()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stubbed tool was called. */
class ShimUnsupported extends Error {}
