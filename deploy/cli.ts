/**
 * `kyverno-studio deploy` and `undeploy` for terminals and CI. Nothing changes without a
 * confirmation naming the context: `--yes`, or an interactive y/N prompt on a terminal.
 */
import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs, single, UsageError, type ParsedArgs } from '../io/args';
import { admissionPolicyGenerationFlags, duration, keyAlgorithmFlag, loadPolicyFiles, webhookTimeoutFlag } from '../webhook/serve';
import { certificatesCover, makeCertificates, trustBundle, type CertificateSet, type KeyAlgorithm } from '../tls/certificates';
import { targetSummary, type ClusterTarget } from './context';
import { KubeClient } from '../kube-api/client';
import { DEPLOY_FLAGS } from './flags';
import { certificateHosts, DEFAULT_IMAGE, DEFAULT_NAMESPACE } from './plan';
import { ALL_CONFIGS, isOurs } from '../webhook/configurations';
import { runDeploy, type DeployUI } from './run';
import { runUndeploy } from './undeploy';

export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const DEPLOY_USAGE = `Usage: kyverno-studio deploy POLICY... [flags]

Deploys policies and the kyverno-studio admission webhook to the active kube context.
Plan, server-side dry run and a summary come first; nothing changes before you confirm.

Flags:
  -y, --yes              confirm without asking (CI); otherwise a terminal prompt asks
      --dry-run          stop after the server-side dry run and the summary
      --render DIR       write every manifest the deploy would apply to DIR (YAML, for GitOps)
                         and change nothing; Secrets with private keys are left out
      --render-secrets   with --render: also write the TLS Secrets with their private keys
      --context NAME     kubeconfig context (default: the current one)
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS     namespace of the webhook (default ${DEFAULT_NAMESPACE})
      --image IMAGE      Node.js image the webhook runs on (default ${DEFAULT_IMAGE}), pinned to the
                         digest its tag names at deploy time unless it already names one
      --replicas N       webhook replicas (default 2)
      --force-failure-policy-ignore
                         every policy served as failurePolicy Ignore, whatever it says
                         (Kyverno's --forceFailurePolicyIgnore; the webhook runs with it)
      --exclude-bootstrap-resources
                         the Fail resource webhooks skip Nodes and CertificateSigningRequests, so a
                         cluster restarting without the webhook registers its nodes (Kyverno's
                         --excludeBootstrapResources; the webhook runs with it)
      --generate-validating-admission-policy[=false]
                         the webhook generates ValidatingAdmissionPolicies from qualifying
                         ClusterPolicies and ValidatingPolicies (default on, as Kyverno's chart)
      --generate-mutating-admission-policy
                         and MutatingAdmissionPolicies from MutatingPolicies (default off)
      --service-monitor  also a ServiceMonitor (Prometheus Operator) scraping the metrics Service
                         (port 8000, plain HTTP, /metrics only; the admission port serves none)
      --port N           container port (default 9443; see docs/eks.md for security groups)
      --host-network     run the webhook pods on the host network (custom CNIs such as Calico on EKS)
      --policies-only    only apply the policies (a cluster that already runs Kyverno)
      --local            run the webhook on this machine; the cluster calls --url
      --url URL          local mode: https://HOST:PORT the API server can reach
      --tls-dir DIR      local mode: where the CA and certificates are kept (default: outside the
                         workspace, $XDG_STATE_HOME/kyverno-studio/local-webhook)
      --tls-key-algorithm A
                         RSA (default), ECDSA (P-256) or Ed25519: the keys of the webhook's CA and
                         serving certificates, now and when renewed (Kyverno's --tlsKeyAlgorithm)
      --webhook-timeout N
                         the webhook configurations' timeoutSeconds, 1 to 30, before policies raise
                         it (Kyverno's --webhookTimeout; default 10; the webhook runs with it)
      --renew-before D   renew the certificates this long before they expire (deploy and the
                         webhook's renewer; Kyverno's --renewBefore; default 360h, 15 days)
      --force-conflicts  take over fields another field manager owns
      --no-smoke-check   skip the final dry-run denial check
      --webhook-bundle PATH  the bundled server (default: webhook.js next to this CLI)
  -h, --help             show this help`;

export const UNDEPLOY_USAGE = `Usage: kyverno-studio undeploy [flags]

Removes what deploy created: webhook configurations first, then policies, RBAC, the
namespace and the CRDs it installed (only when no other objects use them).

Flags:
  -y, --yes, --dry-run, --context NAME, --kubeconfig PATH, -n/--namespace NS (as for deploy)`;


async function prompt(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function cliUI(args: ParsedArgs, io: CliIO, verb: string): DeployUI {
  const yes = args.booleans.has('yes');
  const ask = async (target: ClusterTarget, what: string): Promise<boolean> => {
    if (yes) return true;
    if (!process.stdin.isTTY) {
      io.err(`Refusing to ${what} context "${target.context}" without --yes (stdin is not a terminal).`);
      return false;
    }
    return prompt(`${verb} to context "${target.context}"${target.eks ? ` (EKS ${target.eks.cluster ?? ''} ${target.eks.region ?? ''})` : ''}? [y/N] `);
  };
  return {
    log: (line) => io.out(line),
    step: (title) => io.out(`==> ${title}`),
    confirm: (_summary, target) => ask(target, verb.toLowerCase()),
    offerPoliciesOnly: async (reason, target) => {
      io.out(reason);
      if (args.booleans.has('policies-only')) return true;
      if (yes || !process.stdin.isTTY) {
        io.err('Re-run with --policies-only to deploy only the policies to this cluster.');
        return false;
      }
      return prompt(`Deploy only the policies to "${target.context}"? [y/N] `);
    },
  };
}

function clientFor(args: ParsedArgs): KubeClient {
  return KubeClient.fromKubeconfig(single(args, 'kubeconfig'), single(args, 'context'));
}

function intFlag(args: ParsedArgs, name: string): number | undefined {
  const v = single(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** Local mode's key directory: in the user's state directory, never in a workspace that may be shared or committed. */
export function defaultTlsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'kyverno-studio', 'local-webhook');
}

/** True when `dir` lies inside `workspace` (keys there may have been shared or committed). */
export function insideWorkspace(dir: string, workspace = process.cwd()): boolean {
  const root = resolve(workspace);
  // A process started at the file-system root (an editor host) has no workspace.
  if (root === resolve('/')) return false;
  const rel = relative(root, resolve(dir));
  return !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Local mode keeps its certificates on disk so the API server's caBundle survives restarts,
 * but never reuses a key found inside the workspace: it makes new ones instead.
 */
export function localCertificates(dir: string, url: string, workspace = process.cwd(), algorithm?: KeyAlgorithm): CertificateSet {
  const hosts = certificateHosts('local', '', url);
  const file = join(dir, 'certificates.json');
  if (existsSync(file) && !insideWorkspace(dir, workspace)) {
    const set = JSON.parse(readFileSync(file, 'utf8')) as CertificateSet;
    if (certificatesCover(set, hosts, { algorithm })) return set;
  }
  const set = makeCertificates({ hosts, algorithm });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(set), { mode: 0o600 });
  writeFileSync(join(dir, 'tls.crt'), set.serving.certPem, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.key'), set.serving.keyPem, { mode: 0o600 });
  return set;
}

export async function deployCli(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, DEPLOY_FLAGS);
  if (args.booleans.has('help')) {
    io.out(DEPLOY_USAGE);
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError(`no policies given\n\n${DEPLOY_USAGE}`);
  for (const p of args.positionals) if (!existsSync(p)) throw new UsageError(`policy path ${p} does not exist`);
  const errors: string[] = [];
  const policies = loadPolicyFiles(args.positionals, (line) => errors.push(line));
  if (errors.length) {
    for (const e of errors) io.err(`Error: ${e}`);
    return 1;
  }
  const local = args.booleans.has('local');
  const generation = admissionPolicyGenerationFlags(args);
  const mode = args.booleans.has('policies-only') ? 'policies-only' : local ? 'local' : 'cluster';
  const url = single(args, 'url');
  if (local && !url) throw new UsageError('--local needs --url https://HOST:PORT (an address the API server can reach)');
  if (url && !/^https:\/\//.test(url)) throw new UsageError('--url must start with https://');
  const renderDir = single(args, 'render');
  if (args.booleans.has('render-secrets') && !renderDir) throw new UsageError('--render-secrets needs --render DIR');
  if (renderDir && local) throw new UsageError('--render writes manifests for the in-cluster webhook; it does not combine with --local');
  const bundle = single(args, 'webhook-bundle') ?? join(__dirname, 'webhook.js');
  let webhookCode: Buffer | undefined;
  if (mode === 'cluster') {
    if (!existsSync(bundle)) throw new UsageError(`the webhook bundle ${bundle} is missing (run \`npm run build\`, or pass --webhook-bundle)`);
    webhookCode = readFileSync(bundle);
  }
  const tlsDir = single(args, 'tls-dir') ?? defaultTlsDir();
  const tlsKeyAlgorithm = args.values.has('tls-key-algorithm') ? keyAlgorithmFlag(single(args, 'tls-key-algorithm')) : undefined;
  const renewBeforeMs = args.values.has('renew-before') ? duration(args, 'renew-before', 0) : undefined;
  const webhookTimeoutSeconds = args.values.has('webhook-timeout') ? webhookTimeoutFlag(single(args, 'webhook-timeout')) : undefined;
  const certs = local ? localCertificates(tlsDir, url!, undefined, tlsKeyAlgorithm) : undefined;
  const client = clientFor(args);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    let stopLocal: (() => Promise<void>) | undefined;
    let releaseLocal: (() => Promise<void>) | undefined;
    // A dry run registers nothing, so nothing calls us: no listener.
    if (local && !args.booleans.has('dry-run')) {
      // The same webhook as in a cluster (policies and exceptions watched from the API server,
      // reports, events, policy status, generate and mutate-existing), with the developer's
      // credentials; only the listener and the certificates are local.
      const { startClusterMode } = await import('../webhook/cluster-mode');
      const { defaultResourceFilters } = await import('../webhook/resource-filters');
      const port = Number(new URL(url!).port || 443);
      // Listen only on the address the API server calls (--url), not on every interface.
      const host = new URL(url!).hostname.replace(/^\[|\]$/g, '');
      const namespace = single(args, 'namespace') ?? DEFAULT_NAMESPACE;
      const webhook = await startClusterMode({
        client,
        server: { port, host, tlsCertFile: join(tlsDir, 'tls.crt'), tlsKeyFile: join(tlsDir, 'tls.key'), workerScript: bundle, resourceFilters: defaultResourceFilters(namespace), webhookTimeoutSeconds },
        namespace,
        caPem: trustBundle(certs!),
        localUrl: url,
        log: (line) => io.err(line),
        holdBackground: process.env.KYVERNO_STUDIO_HOLD_BACKGROUND === '1',
        forceFailurePolicyIgnore: args.booleans.has('force-failure-policy-ignore'),
        excludeBootstrapResources: args.booleans.has('exclude-bootstrap-resources'),
        admissionPolicyGeneration: generation,
      });
      io.out(`local webhook listening on ${host}:${webhook.server.address().port}`);
      stopLocal = () => webhook.stop();
      releaseLocal = () => webhook.release();
    }
    const result = await runDeploy({
      client,
      ui: cliUI(args, io, 'Deploy'),
      mode,
      policies,
      namespace: single(args, 'namespace'),
      image: single(args, 'image'),
      replicas: intFlag(args, 'replicas'),
      port: intFlag(args, 'port'),
      hostNetwork: args.booleans.has('host-network'),
      serviceMonitor: args.booleans.has('service-monitor'),
      forceFailurePolicyIgnore: args.booleans.has('force-failure-policy-ignore'),
      excludeBootstrapResources: args.booleans.has('exclude-bootstrap-resources'),
      webhookTimeoutSeconds,
      tlsKeyAlgorithm,
      renewBeforeMs,
      admissionPolicyGeneration: generation,
      webhookCode,
      localUrl: url,
      certs,
      forceConflicts: args.booleans.has('force-conflicts'),
      dryRunOnly: args.booleans.has('dry-run'),
      render: renderDir ? { dir: renderDir, secrets: args.booleans.has('render-secrets') } : undefined,
      smokeCheck: !args.booleans.has('no-smoke-check'),
      signal: controller.signal,
    });
    if (result.error) io.err(`Error: ${result.error}`);
    io.out(`deploy: ${result.outcome}${result.rolledBack.length ? ` (rolled back ${result.rolledBack.length} object(s))` : ''}`);
    if (stopLocal && result.outcome === 'deployed') {
      io.out('The cluster now calls this machine. Press Ctrl-C to stop; the webhook configurations are removed on exit.');
      process.off('SIGINT', onSigint);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      // Stop acting on the cluster first, so the webhook controller cannot put back a
      // configuration removed below.
      await releaseLocal?.();
      for (const [kind, name] of ALL_CONFIGS) {
        const ref = { apiVersion: 'admissionregistration.k8s.io/v1', kind, name };
        // Kyverno's names: never delete a real Kyverno's configuration.
        if (isOurs(await client.get(ref).catch(() => undefined))) await client.delete(ref).catch((e: Error) => io.err(`Error: ${e.message}`));
      }
      // Only once no connection is answered any more: a deploy started after this line is
      // never answered by this process's policies.
      await stopLocal();
      stopLocal = undefined;
      io.out('webhook configurations removed; the local webhook stopped');
    }
    await stopLocal?.();
    return result.outcome === 'deployed' || result.outcome === 'dry-run' || result.outcome === 'rendered' ? 0 : result.outcome === 'cancelled' ? 3 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function undeployCli(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, DEPLOY_FLAGS);
  if (args.booleans.has('help')) {
    io.out(UNDEPLOY_USAGE);
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`undeploy takes no positional arguments (got "${args.positionals[0]}")`);
  const client = clientFor(args);
  const ui = cliUI(args, io, 'Undeploy');
  const result = await runUndeploy({ client, ui, namespace: single(args, 'namespace'), dryRunOnly: args.booleans.has('dry-run') });
  if (result.error) io.err(`Error: ${result.error}`);
  io.out(`undeploy: ${result.outcome}${result.deleted.length ? ` (${result.deleted.length} object(s) deleted)` : ''}`);
  return result.outcome === 'failed' ? 1 : result.outcome === 'cancelled' ? 3 : 0;
}

export { targetSummary };
