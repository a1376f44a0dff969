/**
 * A ClusterPolicy that requires a label (by default named like the policy) on one kind (by
 * default Pods), Enforce: the workspace fixture of the server tests.
 */
export function labelPolicy(name: string, opts: { message?: string; after?: string; kind?: string; label?: string } = {}): string {
  const label = opts.label ?? name;
  return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ${name}
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [${opts.kind ?? 'Pod'}]
    validate:
      failureAction: Enforce
      message: "${opts.message ?? `${label}: label required`}"
      pattern:
        metadata:
          labels:
            ${label}: "?*"${opts.after ?? ''}
`;
}
