/** Whole-rule and whole-policy snippets. Lines are relative to the rule's key column. */
export interface Snippet { label: string; detail: string; body: string[] }

const MATCH_PODS = ['match:', '  any:', '  - resources:', '      kinds:', '      - ${2:Pod}'];

export const RULE_SNIPPETS: Snippet[] = [
  {
    label: 'rule: validate pattern',
    detail: 'Validation rule with an overlay pattern',
    body: ['name: ${1:check-something}', ...MATCH_PODS, 'validate:', '  message: "${3:Describe the requirement.}"', '  pattern:', '    metadata:', '      labels:', '        ${4:app.kubernetes.io/name}: "?*"'],
  },
  {
    label: 'rule: validate deny',
    detail: 'Validation rule with deny conditions',
    body: ['name: ${1:deny-something}', ...MATCH_PODS, 'validate:', '  message: "${3:Why the request is denied.}"', '  deny:', '    conditions:', '      any:', '      - key: "{{ request.operation }}"', '        operator: ${4:Equals}', '        value: ${5:DELETE}'],
  },
  {
    label: 'rule: validate foreach',
    detail: 'Validation rule over each container',
    body: ['name: ${1:check-containers}', ...MATCH_PODS, 'validate:', '  message: "${3:Each container must ...}"', '  foreach:', '  - list: "request.object.spec.containers"', '    deny:', '      conditions:', '        any:', '        - key: "{{ element.image }}"', '          operator: ${4:Equals}', '          value: "${5:*:latest}"'],
  },
  {
    label: 'rule: validate CEL',
    detail: 'Validation rule with CEL expressions',
    body: ['name: ${1:check-with-cel}', ...MATCH_PODS, 'validate:', '  cel:', '    expressions:', '    - expression: "${3:object.metadata.name.size() < 64}"', '      message: "${4:Name too long.}"'],
  },
  {
    label: 'rule: mutate patchStrategicMerge',
    detail: 'Mutation rule with a strategic merge patch',
    body: ['name: ${1:add-labels}', ...MATCH_PODS, 'mutate:', '  patchStrategicMerge:', '    metadata:', '      labels:', '        +(${3:team}): ${4:unknown}'],
  },
  {
    label: 'rule: generate',
    detail: 'Generation rule creating a resource per namespace',
    body: ['name: ${1:generate-network-policy}', 'match:', '  any:', '  - resources:', '      kinds:', '      - Namespace', 'generate:', '  apiVersion: networking.k8s.io/v1', '  kind: NetworkPolicy', '  name: ${2:default-deny}', '  namespace: "{{request.object.metadata.name}}"', '  synchronize: true', '  data:', '    spec:', '      podSelector: {}', '      policyTypes:', '      - Ingress'],
  },
];

export const DOCUMENT_SNIPPETS: Snippet[] = [
  {
    label: 'ClusterPolicy',
    detail: 'kyverno.io/v1 ClusterPolicy skeleton',
    body: ['apiVersion: kyverno.io/v1', 'kind: ClusterPolicy', 'metadata:', '  name: ${1:my-policy}', 'spec:', '  background: true', '  rules:', '  - name: ${2:check-something}', '    match:', '      any:', '      - resources:', '          kinds:', '          - Pod', '    validate:', '      failureAction: ${3|Audit,Enforce|}', '      message: "${4:Describe the requirement.}"', '      pattern:', '        spec:', '          =(hostNetwork): false'],
  },
  {
    label: 'ValidatingPolicy (CEL)',
    detail: 'policies.kyverno.io/v1 ValidatingPolicy skeleton',
    body: ['apiVersion: policies.kyverno.io/v1', 'kind: ValidatingPolicy', 'metadata:', '  name: ${1:my-policy}', 'spec:', '  validationActions:', '  - ${2|Audit,Deny|}', '  matchConstraints:', '    resourceRules:', '    - apiGroups: [""]', '      apiVersions: [v1]', '      operations: [CREATE, UPDATE]', '      resources: [pods]', '  validations:', '  - expression: "${3:has(object.metadata.labels) && \'app\' in object.metadata.labels}"', '    message: "${4:Pods need an app label.}"'],
  },
];

/** Indents continuation lines so they land under the first one (the editor adds the line's indentation). */
export function snippetText(s: Snippet, extraIndent: number): string {
  const pad = ' '.repeat(extraIndent);
  return s.body.map((l, i) => (i === 0 ? l : pad + l)).join('\n');
}
