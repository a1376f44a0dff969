/**
 * The flags of `deploy` and `undeploy`, apart from deploy/cli.ts so that `--help`, completion and
 * every other command can list them without loading the Kubernetes client.
 */
export const DEPLOY_FLAGS = {
  values: ['context', 'kubeconfig', 'namespace', 'image', 'replicas', 'port', 'url', 'tls-dir', 'tls-key-algorithm', 'renew-before', 'webhook-timeout', 'webhook-bundle', 'render'],
  booleans: ['yes', 'dry-run', 'render-secrets', 'host-network', 'policies-only', 'local', 'service-monitor', 'force-failure-policy-ignore', 'exclude-bootstrap-resources', 'generate-validating-admission-policy', 'generate-mutating-admission-policy', 'force-conflicts', 'no-smoke-check', 'help'],
  aliases: { y: 'yes', n: 'namespace', h: 'help' },
};
