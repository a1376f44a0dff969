/** `kyverno-studio undeploy`: see deploy/cli.ts (loaded on demand: it brings the Kubernetes client). */
import { DEPLOY_FLAGS } from '../../deploy/flags';
import type { Command } from './command';

export const undeployCommand: Command = {
  name: 'undeploy',
  summary: 'remove what deploy installed from the active kube context',
  usage: 'kyverno-studio undeploy [--yes] [--dry-run] [--namespace NS]',
  flags: DEPLOY_FLAGS,
  run: async (argv, io) => (await import('../../deploy/cli')).undeployCli(argv, io),
};
