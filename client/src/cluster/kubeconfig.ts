/**
 * The active kube context, read from kubeconfig text (no cluster call). EKS clusters are
 * named by cluster and region: from an ARN context/cluster name
 * (`arn:aws:eks:REGION:ACCOUNT:cluster/NAME`), an `aws eks get-token --cluster-name NAME
 * --region REGION` exec user, or a `*.REGION.eks.amazonaws.com` server host. Pure (no vscode).
 */
import { parse } from 'yaml';

export interface EksCluster {
  name: string;
  region?: string;
  account?: string;
}

export interface KubeContext {
  context: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  server?: string;
  eks?: EksCluster;
}

type Named = { name?: unknown; [k: string]: unknown };

const ARN = /^arn:aws[a-z-]*:eks:([a-z0-9-]+):(\d+):cluster\/(.+)$/;
const EKS_HOST = /\.([a-z]{2}(?:-[a-z]+)+-\d+)\.eks\.amazonaws\.com(?:\.cn)?$/i;

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function byName(list: unknown, name: string | undefined): Record<string, unknown> | undefined {
  if (!Array.isArray(list) || name === undefined) return undefined;
  return list.map(asRecord).find((e: Named) => e.name === name);
}

function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

export function eksFromArn(value: string | undefined): EksCluster | undefined {
  const m = value ? ARN.exec(value) : null;
  return m ? { name: m[3], region: m[1], account: m[2] } : undefined;
}

function eksFromExec(user: Record<string, unknown> | undefined): EksCluster | undefined {
  const exec = asRecord(asRecord(user?.user).exec);
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const command = String(exec.command ?? '');
  // `aws eks get-token --cluster-name X` and `aws-iam-authenticator token -i X`.
  if (/(^|\/)aws$/.test(command) && args.includes('eks') && args.includes('get-token')) {
    const name = flag(args, '--cluster-name') ?? flag(args, '--cluster-id');
    if (name) return { name, region: flag(args, '--region') ?? envValue(exec.env, 'AWS_REGION') };
  }
  if (/aws-iam-authenticator$/.test(command)) {
    const name = flag(args, '-i') ?? flag(args, '--cluster-id');
    if (name) return { name, region: flag(args, '--region') };
  }
  return undefined;
}

function envValue(env: unknown, name: string): string | undefined {
  if (!Array.isArray(env)) return undefined;
  const hit = env.map(asRecord).find((e) => e.name === name);
  return typeof hit?.value === 'string' ? hit.value : undefined;
}

function regionFromServer(server: string | undefined): string | undefined {
  if (!server) return undefined;
  try {
    const m = EKS_HOST.exec(new URL(server).hostname);
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The current context of the merged kubeconfig files (in KUBECONFIG order: the first file
 * that sets `current-context` wins, and the first definition of each named entry wins, as
 * kubectl merges them). Undefined when no current context is set.
 */
export function currentContext(texts: string[]): KubeContext | undefined {
  const configs = texts.map((t) => {
    try {
      return asRecord(parse(t, { maxAliasCount: 100 }));
    } catch {
      return {};
    }
  });
  const current = configs.map((c) => c['current-context']).find((v) => typeof v === 'string' && v !== '') as string | undefined;
  if (!current) return undefined;
  const find = (section: string, name: string | undefined) => {
    for (const c of configs) {
      const hit = byName(c[section], name);
      if (hit) return hit;
    }
    return undefined;
  };
  const ctx = asRecord(find('contexts', current)?.context);
  const clusterName = typeof ctx.cluster === 'string' ? ctx.cluster : undefined;
  const userName = typeof ctx.user === 'string' ? ctx.user : undefined;
  const cluster = asRecord(find('clusters', clusterName)?.cluster);
  const user = find('users', userName);
  const server = typeof cluster.server === 'string' ? cluster.server : undefined;
  const out: KubeContext = { context: current, cluster: clusterName, user: userName, server };
  if (typeof ctx.namespace === 'string' && ctx.namespace) out.namespace = ctx.namespace;
  const eks = eksFromArn(current) ?? eksFromArn(clusterName) ?? eksFromExec(user);
  const hostRegion = regionFromServer(server);
  if (eks) out.eks = { ...eks, region: eks.region ?? hostRegion };
  else if (hostRegion) out.eks = { name: clusterName ?? current, region: hostRegion };
  return out;
}

/** Short status-bar label: `EKS name (region)` for EKS, the context name otherwise. */
export function contextLabel(ctx: KubeContext): string {
  if (ctx.eks) return `EKS ${ctx.eks.name}${ctx.eks.region ? ` (${ctx.eks.region})` : ''}`;
  return ctx.context;
}

/** kubeconfig paths: the setting, else $KUBECONFIG (':'-separated), else ~/.kube/config. */
export function kubeconfigPaths(setting: string, env: string | undefined, home: string, delimiter = ':'): string[] {
  if (setting.trim()) return [setting.trim().replace(/^~(?=$|\/)/, home)];
  if (env && env.trim()) return env.split(delimiter).filter(Boolean);
  return [`${home}/.kube/config`];
}
