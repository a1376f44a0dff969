/** A ClusterPolicy that requires the label named like the policy on Pods (Enforce): workspace fixtures of the server tests. */
export function labelPolicy(name: string, opts: { message?: string; after?: string } = {}): string {
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
          kinds: [Pod]
    validate:
      failureAction: Enforce
      message: "${opts.message ?? `${name}: label required`}"
      pattern:
        metadata:
          labels:
            ${name}: "?*"${opts.after ?? ''}
`;
}
