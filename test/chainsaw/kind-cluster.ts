/**
 * What a kind cluster holds before any scenario runs, beyond the namespaces the runner creates:
 * Kyverno's CI runs the chainsaw scenarios on kind (helm/kind-action with a kindest/node image),
 * whose node image installs a storage provisioner (kubernetes-sigs/kind,
 * pkg/build/nodeimage/const_storage.go: defaultStorageManifest). Kyverno's default resource
 * filters skip kube-system, kube-public and kube-node-lease, but not local-path-storage, so a
 * policy's background scan sees these objects as it would in CI (for example a Deployment rule
 * reports on the provisioner's Deployment, and its violation event is reported by the scan).
 *
 * Only objects the API server keeps as written are here: the Deployment's ReplicaSet and Pod
 * are the workload controllers' (controllers.ts), which a scenario's run lets catch up first.
 */
import type { JsonObject } from '../../engine/core/types';

const NAMESPACE = 'local-path-storage';
const SERVICE_ACCOUNT = 'local-path-provisioner-service-account';
const PROVISIONER_IMAGE = 'docker.io/kindest/local-path-provisioner:v20240813-c6f155d6';
const HELPER_IMAGE = 'docker.io/kindest/local-path-helper:v20230510-486859a6';

export function kindClusterObjects(): JsonObject[] {
  return [
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
