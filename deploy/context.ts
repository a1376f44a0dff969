/**
 * What cluster are we about to change? The active kubeconfig context, and whether it is an
 * Amazon EKS cluster (cluster name, region and account shown before anything happens).
 * EKS is recognised from any of: an ARN context/cluster name, an exec user running
 * `aws eks get-token` or `aws-iam-authenticator`, a `*.REGION.eks.amazonaws.com` server host,
 * or an `-eks-` server version (the last one needs the server, the others are offline).
 */
import type { KubeConfig } from '@kubernetes/client-node';

export interface EksInfo {
  cluster?: string;
  region?: string;
  account?: string;
  /** Which signals said "EKS". */
  evidence: string[];
}

export interface ClusterTarget {
  context: string;
  cluster: string;
  server: string;
  user: string;
  namespace?: string;
  /** `aws eks get-token ...` and the like, when credentials come from an exec plugin. */
  execCommand?: string;
  eks?: EksInfo;
  serverVersion?: string;
}

const ARN = /^arn:aws[a-z-]*:eks:([a-z0-9-]+):(\d{12}):cluster\/(.+)$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):/;
const EKS_HOST = /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.eks\.amazonaws\.com(?:\.cn)?$/i;

function flag(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    for (const n of names) {
      if (args[i] === n) return args[i + 1];
      if (args[i].startsWith(`${n}=`)) return args[i].slice(n.length + 1);
    }
  }
  return undefined;
}

interface ExecLike {
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
}

/** Pure: EKS facts from names, server URL, exec plugin and (optionally) the server version. */
export function detectEks(input: { contextName: string; clusterName: string; server: string; exec?: ExecLike; serverVersion?: string }): EksInfo | undefined {
  const info: EksInfo = { evidence: [] };
  for (const [what, name] of [['context name', input.contextName], ['cluster name', input.clusterName]] as const) {
    const m = ARN.exec(name);
    if (m) {
      info.region ??= m[1];
      info.account ??= m[2];
      info.cluster ??= m[3];
      info.evidence.push(`${what} is an EKS ARN`);
    }
  }
  let host = '';
  try {
    host = new URL(input.server).hostname;
  } catch {
    host = '';
  }
  const h = EKS_HOST.exec(host);
  if (h) {
    info.region ??= h[1];
    info.evidence.push(`server ${host}`);
  }
  const exec = input.exec;
  if (exec?.command) {
    const args = exec.args ?? [];
    const base = exec.command.split(/[\\/]/).pop() ?? '';
    if (base.startsWith('aws') && args.includes('eks') && args.includes('get-token')) {
      info.cluster ??= flag(args, '--cluster-name', '--cluster-id');
      info.region ??= flag(args, '--region');
      info.evidence.push('credentials from `aws eks get-token`');
    } else if (base.startsWith('aws-iam-authenticator')) {
      info.cluster ??= flag(args, '-i', '--cluster-id');
      info.evidence.push('credentials from aws-iam-authenticator');
    }
    const role = flag(args, '--role-arn', '-r', '--role');
    const r = role ? ROLE_ARN.exec(role) : null;
    if (r) info.account ??= r[1];
    const envRegion = exec.env?.find((e) => e.name === 'AWS_REGION' || e.name === 'AWS_DEFAULT_REGION')?.value;
    if (info.evidence.length) info.region ??= envRegion;
  }
  if (input.serverVersion && /-eks-/.test(input.serverVersion)) info.evidence.push(`server version ${input.serverVersion}`);
  return info.evidence.length ? info : undefined;
}

/** The active context of a loaded KubeConfig, described (no network). */
export function describeTarget(kc: KubeConfig): ClusterTarget {
  const contextName = kc.getCurrentContext();
  const ctx = kc.getContextObject(contextName);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!ctx || !cluster) throw new Error(`kubeconfig context "${contextName}" does not name a known cluster`);
  const exec = (user?.exec ?? undefined) as ExecLike | undefined;
  const target: ClusterTarget = {
    context: contextName,
    cluster: cluster.name,
    server: cluster.server,
    user: user?.name ?? '',
    namespace: ctx.namespace,
    execCommand: exec?.command ? [exec.command, ...(exec.args ?? [])].join(' ') : undefined,
  };
  target.eks = detectEks({ contextName, clusterName: cluster.name, server: cluster.server, exec });
  return target;
}

/** Adds what the server says about itself (the `-eks-` version suffix). */
export function withServerVersion(target: ClusterTarget, gitVersion: string): ClusterTarget {
  const eks = detectEks({ contextName: target.context, clusterName: target.cluster, server: target.server, serverVersion: gitVersion });
  const merged = target.eks || eks ? { ...(eks ?? { evidence: [] }), ...(target.eks ?? {}), evidence: [...new Set([...(target.eks?.evidence ?? []), ...(eks?.evidence ?? [])])] } : undefined;
  return { ...target, serverVersion: gitVersion, eks: merged };
}

/** One paragraph for the confirmation: which cluster, and on EKS cluster, region and account. */
export function targetSummary(t: ClusterTarget): string {
  const lines = [`context:  ${t.context}`, `cluster:  ${t.cluster} (${t.server})`];
  if (t.serverVersion) lines.push(`version:  ${t.serverVersion}`);
  if (t.eks) {
    lines.push(
      `EKS:      cluster ${t.eks.cluster ?? '(unknown)'}, region ${t.eks.region ?? '(unknown)'}, account ${t.eks.account ?? '(unknown; not in the kubeconfig)'}`,
    );
  }
  if (t.execCommand) lines.push(`auth:     exec ${t.execCommand}`);
  return lines.join('\n');
}
