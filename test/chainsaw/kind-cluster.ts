/**
 * What a kind cluster holds before any scenario runs, beyond the namespaces the runner creates:
 * Kyverno's CI runs the chainsaw scenarios on kind (helm/kind-action with a kindest/node image),
 * whose node image installs a storage provisioner (kubernetes-sigs/kind,
 * pkg/build/nodeimage/const_storage.go: defaultStorageManifest). Kyverno's default resource
 * filters skip kube-system, kube-public and kube-node-lease, but not local-path-storage, so a
 * policy's background scan sees these objects as it would in CI (for example a Deployment rule
 * reports on the provisioner's Deployment, and its violation event is reported by the scan).
 * kubeadm, which kind runs, installs the CoreDNS addon in kube-system (kubernetes,
 * cmd/kubeadm/app/phases/addons/dns/manifests.go): its Deployment and the ServiceAccount and
 * ConfigMap that Deployment names are here too (`kyverno apply --cluster` lists every
 * Deployment, kube-system's included).
 *
 * Only objects the API server keeps as written are here: the Deployment's ReplicaSet and Pod
 * are the workload controllers' (controllers.ts), which a scenario's run lets catch up first.
 * Beside them is the cluster's Node, which kind's node registers (the kubelet writes
 * it and its status): `kind-control-plane`, with the labels and annotations kubeadm and the
 * kubelet give it and the status of a GitHub-hosted runner (4 CPUs, 16 GiB), which is where
 * Kyverno's CI runs; the kubelet's later heartbeats do not change what scenarios read.
 */
import type { JsonObject } from '../../engine/core/types';

const NAMESPACE = 'local-path-storage';
const SERVICE_ACCOUNT = 'local-path-provisioner-service-account';
const PROVISIONER_IMAGE = 'docker.io/kindest/local-path-provisioner:v20240813-c6f155d6';
const HELPER_IMAGE = 'docker.io/kindest/local-path-helper:v20230510-486859a6';
/** kubeadm's CoreDNS for Kubernetes 1.33 (the node image of Kyverno's CI). */
const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.12.0';
const COREDNS_LABELS = { 'k8s-app': 'kube-dns' };

/** kubeadm's CoreDNS addon (cluster domain cluster.local, two replicas, kubeadm's defaults). */
function coreDnsObjects(): JsonObject[] {
  const corefile = [
    '.:53 {',
    '    errors',
    '    health {',
    '       lameduck 5s',
    '    }',
    '    ready',
    '    kubernetes cluster.local in-addr.arpa ip6.arpa {',
    '       pods insecure',
    '       fallthrough in-addr.arpa ip6.arpa',
    '       ttl 30',
    '    }',
    '    prometheus :9153',
    '    forward . /etc/resolv.conf {',
    '       max_concurrent 1000',
    '    }',
    '    cache 30 {',
    '       disable success cluster.local',
    '       disable denial cluster.local',
    '    }',
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');
  const probe = (path: string, port: string) => ({ httpGet: { path, port, scheme: 'HTTP' } });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' }, data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: COREDNS_LABELS },
      spec: {
        replicas: 2,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: COREDNS_LABELS },
        template: {
          metadata: { labels: COREDNS_LABELS },
          spec: {
            priorityClassName: 'system-cluster-critical',
            serviceAccountName: 'coredns',
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] }, topologyKey: 'kubernetes.io/hostname' } },
                ],
              },
            },
            tolerations: [
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
              { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
            ],
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            containers: [
              {
                name: 'coredns',
                image: COREDNS_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
                args: ['-conf', '/etc/coredns/Corefile'],
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
                ports: [
                  { containerPort: 53, name: 'dns', protocol: 'UDP' },
                  { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                  { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
                  { containerPort: 8080, name: 'liveness-probe', protocol: 'TCP' },
                  { containerPort: 8181, name: 'readiness-probe', protocol: 'TCP' },
                ],
                livenessProbe: { ...probe('/health', 'liveness-probe'), initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                readinessProbe: probe('/ready', 'readiness-probe'),
                securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
              },
            ],
            dnsPolicy: 'Default',
            volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
          },
        },
      },
    },
  ];
}

/** The name kind gives the node of a one-node cluster named `kind` (helm/kind-action's default). */
export const KIND_NODE_NAME = 'kind-control-plane';

/** The node's labels, which a Pod's nodeSelector must meet to be scheduled there. */
export const KIND_NODE_LABELS: Readonly<Record<string, string>> = {
  'beta.kubernetes.io/arch': 'amd64',
  'beta.kubernetes.io/os': 'linux',
  'kubernetes.io/arch': 'amd64',
  'kubernetes.io/hostname': KIND_NODE_NAME,
  'kubernetes.io/os': 'linux',
  'node-role.kubernetes.io/control-plane': '',
  'node.kubernetes.io/exclude-from-external-load-balancers': '',
};

/** The node's address on kind's docker network (its Pods' hostIP). */
export const KIND_NODE_IP = '172.18.0.2';

/** The Node kind's kubelet registers, as `kubectl get node kind-control-plane -o yaml` shows it on Kyverno's CI. */
function kindNode(): JsonObject {
  const resources = { cpu: '4', 'ephemeral-storage': '76019768Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '16365024Ki', pods: '110' };
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: KIND_NODE_NAME,
      labels: { ...KIND_NODE_LABELS },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    // kind removes the control-plane taint of a one-node cluster: workloads schedule on it.
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], providerID: `kind://docker/kind/${KIND_NODE_NAME}` },
    status: {
      addresses: [{ type: 'InternalIP', address: KIND_NODE_IP }, { type: 'Hostname', address: KIND_NODE_NAME }],
      allocatable: resources,
      capacity: resources,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { architecture: 'amd64', containerRuntimeVersion: 'containerd://2.1.1', kernelVersion: '6.11.0-1018-azure', kubeProxyVersion: '', kubeletVersion: 'v1.34.3', operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)' },
    },
  };
}

/**
 * The API server's bootstrap `view` ClusterRole (Kubernetes' rbac bootstrappolicy, 1.33): an
 * aggregated role over `system:aggregate-to-view`, the read access Kyverno's chart binds its
 * controllers to (`<controller>:view`). The cluster's other bootstrap roles bind nothing a
 * scenario or Kyverno's accounts use and are left out.
 */
function viewRoles(): JsonObject[] {
  const read = ['get', 'list', 'watch'];
  const rule = (apiGroups: string[], resources: string[]) => ({ apiGroups, resources, verbs: read });
  const bootstrap = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  const autoupdate = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'view', labels: { ...bootstrap, 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' }, annotations: autoupdate },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }] },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:aggregate-to-view', labels: { ...bootstrap, 'rbac.authorization.k8s.io/aggregate-to-view': 'true' }, annotations: autoupdate },
      rules: [
        rule([''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status']),
        rule([''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']),
        rule([''], ['namespaces']),
        rule(['discovery.k8s.io'], ['endpointslices']),
        rule(['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']),
        rule(['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        rule(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
        rule(['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale']),
        rule(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        rule(['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
      ],
    },
  ];
}

export function kindClusterObjects(): JsonObject[] {
  return [
    ...coreDnsObjects(),
    ...viewRoles(),
    kindNode(),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { 'kubernetes.io/metadata.name': NAMESPACE } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: NAMESPACE } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'local-path-provisioner-role' },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['endpoints', 'persistentvolumes', 'pods'], verbs: ['*'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'local-path-provisioner-bind' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'local-path-provisioner-role' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'local-path-provisioner', namespace: NAMESPACE },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'local-path-provisioner' } },
        template: {
          metadata: { labels: { app: 'local-path-provisioner' } },
          spec: {
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', operator: 'Equal', effect: 'NoSchedule' },
              { key: 'node-role.kubernetes.io/master', operator: 'Equal', effect: 'NoSchedule' },
            ],
            serviceAccountName: SERVICE_ACCOUNT,
            containers: [
              {
                name: 'local-path-provisioner',
                image: PROVISIONER_IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['local-path-provisioner', '--debug', 'start', '--helper-image', HELPER_IMAGE, '--config', '/etc/config/config.json'],
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
                env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: 'local-path-config' } }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'local-path-config', namespace: NAMESPACE },
      data: {
        'config.json': '{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["/var/local-path-provisioner"]}]}',
        setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"',
        teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"',
        'helperPod.yaml': `apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n  containers:\n  - name: helper-pod\n    image: ${HELPER_IMAGE}\n    imagePullPolicy: IfNotPresent`,
      },
    },
  ];
}
