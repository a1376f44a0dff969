/** `kyverno-studio undeploy`: see deploy/cli.ts. */
import { undeployCli, DEPLOY_FLAGS } from '../../deploy/cli';
import type { Command } from './command';

export const undeployCommand: Command = {
  name: 'undeploy',
  summary: 'remove what deploy installed from the active kube context',
  usage: 'kyverno-studio undeploy [--yes] [--dry-run] [--namespace NS]',
  flags: DEPLOY_FLAGS,
  run: (argv, io) => undeployCli(argv, io),
};
