import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextLabel, currentContext, eksFromArn, kubeconfigPaths } from '../../client/src/cluster/kubeconfig';

const config = (current: string, extra = '') => `apiVersion: v1
kind: Config
current-context: ${current}
contexts:
  - name: kind-dev
    context: {cluster: kind-dev, user: kind-dev, namespace: apps}
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
    context: {cluster: arn:aws:eks:eu-west-1:123456789012:cluster/prod, user: prod-user}
  - name: by-exec
    context: {cluster: plain, user: aws-exec}
  - name: by-host
    context: {cluster: eks-host, user: someone}
clusters:
  - name: kind-dev
    cluster: {server: "https://127.0.0.1:6443"}
  - name: plain
    cluster: {server: "https://10.0.0.1"}
  - name: eks-host
    cluster: {server: "https://ABCDEF0123456789.gr7.us-east-2.eks.amazonaws.com"}
users:
  - name: aws-exec
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: [--region, ap-south-1, eks, get-token, --cluster-name, staging]
${extra}`;

test('a plain context is named by its context name', () => {
  const ctx = currentContext([config('kind-dev')]);
  assert.equal(ctx?.cluster, 'kind-dev');
  assert.equal(ctx?.namespace, 'apps');
  assert.equal(ctx?.server, 'https://127.0.0.1:6443');
  assert.equal(ctx?.eks, undefined);
  assert.equal(contextLabel(ctx!), 'kind-dev');
});

test('EKS from an ARN context name', () => {
  const ctx = currentContext([config('arn:aws:eks:eu-west-1:123456789012:cluster/prod')]);
  assert.deepEqual(ctx?.eks, { name: 'prod', region: 'eu-west-1', account: '123456789012' });
  assert.equal(contextLabel(ctx!), 'EKS prod (eu-west-1)');
});

test('EKS from an aws eks get-token exec user', () => {
  const ctx = currentContext([config('by-exec')]);
  assert.equal(contextLabel(ctx!), 'EKS staging (ap-south-1)');
});

test('EKS from the API server host', () => {
  const ctx = currentContext([config('by-host')]);
  assert.equal(contextLabel(ctx!), 'EKS eks-host (us-east-2)');
});

test('merged kubeconfigs: the first current-context wins, later files supply entries', () => {
  const first = 'current-context: kind-dev\n';
  const ctx = currentContext([first, config('by-exec')]);
  assert.equal(ctx?.context, 'kind-dev');
  assert.equal(ctx?.server, 'https://127.0.0.1:6443');
});

test('no current context, or broken YAML, gives no context', () => {
  assert.equal(currentContext([]), undefined);
  assert.equal(currentContext(['current-context: ""\n']), undefined);
  assert.equal(currentContext(['{{{ not yaml']), undefined);
});

test('ARN parsing rejects other ARNs', () => {
  assert.equal(eksFromArn('arn:aws:iam::123:role/x'), undefined);
  assert.deepEqual(eksFromArn('arn:aws-cn:eks:cn-north-1:1:cluster/a/b'), { name: 'a/b', region: 'cn-north-1', account: '1' });
});

test('kubeconfig paths: setting, then KUBECONFIG, then ~/.kube/config', () => {
  assert.deepEqual(kubeconfigPaths('~/k.yaml', '/a:/b', '/home/u'), ['/home/u/k.yaml']);
  assert.deepEqual(kubeconfigPaths('', '/a:/b', '/home/u'), ['/a', '/b']);
  assert.deepEqual(kubeconfigPaths('', undefined, '/home/u'), ['/home/u/.kube/config']);
});
