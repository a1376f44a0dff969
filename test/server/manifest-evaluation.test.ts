// The editor's manifest diagnostics come from the CLI's evaluation path: mutate policies run
// first, validation sees the mutated object, admission policies (with or without binding) and
// workspace PolicyExceptions take part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFile, evaluateManifests, workspacePolicies, Codes, type WorkspacePolicy } from '../../server/src/service';
import { ADD_ENV } from '../client/fixtures';

const REQUIRE_ENV = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-env
spec:
  rules:
  - name: check-env
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforce
      message: "label env is required"
      pattern:
        metadata:
          labels:
            env: "?*"
`;
const VAP = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-latest
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: "object.spec.containers.all(c, !c.image.endsWith(':latest'))"
    message: "no latest tag"
`;
const BINDING = (actions: string) => `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-latest-binding
spec:
  policyName: no-latest
  validationActions: [${actions}]
`;
const EXCEPTION = `apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: web-may-skip
  namespace: default
spec:
  exceptions:
  - policyName: require-env
    ruleNames: [check-env]
  match:
    any:
    - resources:
        kinds: [Pod]
        names: [web]
`;
const POD = (image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: c
    image: ${image}
`;

const workspace = (...files: string[]): WorkspacePolicy[] =>
  files.flatMap((text, i) => workspacePolicies(parseFile(`file:///ws/p${i}.yaml`, text)));
const diagnose = (manifest: string, ws: WorkspacePolicy[]) => evaluateManifests(parseFile('file:///ws/pod.yaml', manifest), ws);

test('a mutate policy adding the label a validate policy requires: no violation, as apply says', () => {
  const alone = diagnose(POD('nginx:1.27'), workspace(REQUIRE_ENV));
  assert.equal(alone.filter((d) => d.code === Codes.violationEnforce).length, 1);
  // The mutate policy is listed after the validate policy: Kyverno still mutates first.
  const both = diagnose(POD('nginx:1.27'), workspace(REQUIRE_ENV, ADD_ENV));
  assert.deepEqual(both.filter((d) => d.code === Codes.violationEnforce), []);
  const mutation = both.filter((d) => d.code === Codes.mutation);
  assert.equal(mutation.length, 1);
  assert.match(mutation[0].message, /add-env would mutate/);
});

test('a ValidatingAdmissionPolicy without binding flags the manifest (Deny)', () => {
  const found = diagnose(POD('nginx:latest'), workspace(VAP));
  const errors = found.filter((d) => d.code === Codes.violationEnforce);
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /no-latest: no latest tag/);
  assert.deepEqual(diagnose(POD('nginx:1.27'), workspace(VAP)), []);
});

test('a binding in another workspace file sets the admission policy\'s action', () => {
  const audit = diagnose(POD('nginx:latest'), workspace(VAP, BINDING('Audit')));
  assert.deepEqual(audit.map((d) => d.code), [Codes.violationAudit]);
  const deny = diagnose(POD('nginx:latest'), workspace(VAP, BINDING('Deny')));
  assert.deepEqual(deny.map((d) => d.code), [Codes.violationEnforce]);
});

test('a PolicyException of the workspace applies to manifests', () => {
  const found = diagnose(POD('nginx:1.27'), workspace(REQUIRE_ENV, EXCEPTION));
  assert.deepEqual(found.filter((d) => d.code === Codes.violationEnforce), []);
});

test('bindings and exceptions alone evaluate nothing', () => {
  assert.deepEqual(diagnose(POD('nginx:latest'), workspace(BINDING('Deny'), EXCEPTION)), []);
});

test('a kind: List stands for its items, as apply reads it; results point into the item', () => {
  const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: ok
  spec:
    containers:
    - name: c
      image: nginx:1.27
- apiVersion: v1
  kind: Pod
  metadata:
    name: bad
  spec:
    containers:
    - name: c
      image: nginx:latest
`;
  const found = diagnose(list, workspace(VAP));
  assert.deepEqual(found.map((d) => [d.code, d.range.start.line]), [[Codes.violationEnforce, 12]]);
});
