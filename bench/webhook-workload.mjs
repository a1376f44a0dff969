// The webhook benchmark's workload, shared by bench/webhook.mjs (over HTTPS) and
// bench/engine.mjs (the same review without HTTP): 20 validate policies and one Pod that
// passes all of them (a denial would measure less work).

export function webhookPolicies() {
  const checks = [
    ['require-app-label', { metadata: { labels: { 'app.kubernetes.io/name': '?*' } } }],
    ['require-team-label', { metadata: { labels: { team: '?*' } } }],
    ['disallow-latest-tag', { spec: { containers: [{ image: '!*:latest' }] } }],
    ['require-image-tag', { spec: { containers: [{ image: '*:*' }] } }],
    ['require-requests', { spec: { containers: [{ resources: { requests: { memory: '?*', cpu: '?*' } } }] } }],
    ['require-memory-limit', { spec: { containers: [{ resources: { limits: { memory: '?*' } } }] } }],
    ['disallow-privileged', { spec: { '=(securityContext)': { '=(privileged)': 'false' }, containers: [{ '=(securityContext)': { '=(privileged)': 'false' } }] } }],
    ['disallow-host-network', { spec: { '=(hostNetwork)': 'false' } }],
    ['disallow-host-pid', { spec: { '=(hostPID)': 'false' } }],
    ['disallow-host-ipc', { spec: { '=(hostIPC)': 'false' } }],
    ['disallow-host-path', { spec: { '=(volumes)': [{ 'X(hostPath)': 'null' }] } }],
    ['require-run-as-non-root', { spec: { securityContext: { runAsNonRoot: true } } }],
    ['disallow-privilege-escalation', { spec: { containers: [{ securityContext: { allowPrivilegeEscalation: 'false' } }] } }],
    ['require-ro-rootfs', { spec: { containers: [{ securityContext: { readOnlyRootFilesystem: true } }] } }],
    ['restrict-registries', { spec: { containers: [{ image: 'registry.example.com/*' }] } }],
    ['require-liveness-probe', { spec: { containers: [{ livenessProbe: { periodSeconds: '>0' } }] } }],
    ['require-readiness-probe', { spec: { containers: [{ readinessProbe: { periodSeconds: '>0' } }] } }],
    ['restrict-seccomp', { spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault | Localhost' } } } }],
    ['disallow-host-ports', { spec: { containers: [{ '=(ports)': [{ 'X(hostPort)': 'null' }] }] } }],
  ];
  const out = checks.map(([name, pattern], i) => ({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: {
      validationFailureAction: i % 2 ? 'Audit' : 'Enforce',
      background: true,
      rules: [{ name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${name} failed`, pattern } }],
    },
  }));
  out.push({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'deny-default-namespace' },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{
        name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] },
        validate: { message: 'use a namespace', deny: { conditions: { any: [{ key: '{{ request.namespace }}', operator: 'Equals', value: 'default' }] } } },
      }],
    },
  });
  return out;
}

export function webhookReview(uid) {
  const container = {
    name: 'app', image: 'registry.example.com/team/app:1.2.3',
    resources: { requests: { memory: '64Mi', cpu: '50m' }, limits: { memory: '128Mi' } },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false },
    livenessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 10 },
    readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 10 },
    ports: [{ containerPort: 8080 }],
  };
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'bench', namespace: 'apps', labels: { 'app.kubernetes.io/name': 'bench', team: 'perf' } },
    spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [container] },
  };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'apps', userInfo: { username: 'bench' }, object: pod },
  });
}

