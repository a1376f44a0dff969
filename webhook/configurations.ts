/**
 * The webhook configurations that send admission reviews to the webhook, and the names and
 * labels they carry. The in-cluster controller keeps them in step with the policies; deploy
 * creates them. Both read them here, so the webhook never depends on deploy/.
 */
import { webhookRules, type RuleNeed } from './rules';

type Json = Record<string, unknown>;

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
export const WEBHOOK_NAME = 'kyverno-studio-webhook';
export const VALIDATING_CONFIG = 'kyverno-studio-validate';
export const MUTATING_CONFIG = 'kyverno-studio-mutate';

export function labels(extra: Json = {}): Json {
  return { ...MANAGED_BY, ...extra };
}

export interface WebhookConfigInput {
  namespace: string;
  caPem: string;
  /** Local mode: the developer's webhook URL; otherwise the in-cluster Service. */
  localUrl?: string;
  needs: RuleNeed[];
  /** Emit a configuration even without webhooks (cluster mode: the controller patches it later). */
  keepEmpty: boolean;
}

/** The Validating/MutatingWebhookConfigurations for `needs` (admissionregistration.k8s.io/v1, 1.16+). */
export function webhookConfigurations(input: WebhookConfigInput): Json[] {
  const caBundle = Buffer.from(input.caPem).toString('base64');
  const ns = input.namespace;
  const clientConfig = (path: string): Json =>
    input.localUrl
      ? { url: `${input.localUrl.replace(/\/+$/, '')}/${path}`, caBundle }
      : { service: { namespace: ns, name: WEBHOOK_NAME, path: `/${path}`, port: 443 }, caBundle };
  const out: Json[] = [];
  for (const [kind, path, name] of [
    ['ValidatingWebhookConfiguration', 'validate', VALIDATING_CONFIG],
    ['MutatingWebhookConfiguration', 'mutate', MUTATING_CONFIG],
  ] as const) {
    const mine = input.needs.filter((n) => n.path === path && n.resources.length > 0);
    if (mine.length === 0 && !input.keepEmpty) continue;
    out.push({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: { name, labels: labels() },
      webhooks: mine.map((n) => ({
        name: `${path}-${n.failurePolicy.toLowerCase()}.kyverno-studio.io`,
        admissionReviewVersions: ['v1'],
        clientConfig: clientConfig(path),
        rules: webhookRules(n),
        failurePolicy: n.failurePolicy,
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: n.timeoutSeconds,
        // 1.20 has no automatic kubernetes.io/metadata.name label: NotIn also matches a
        // namespace without the label, so unlabelled user namespaces stay covered.
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-node-lease', ns] }] },
        ...(kind === 'MutatingWebhookConfiguration' ? { reinvocationPolicy: 'Never' } : {}),
      })),
    });
  }
  return out;
}

