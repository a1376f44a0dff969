/** Kubernetes' recommended label naming the tool that manages an object (Kyverno's generated objects, reports and webhooks carry it). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
