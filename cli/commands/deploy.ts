/** `kyverno-studio deploy`: see deploy/cli.ts. */
import { deployCli, DEPLOY_FLAGS } from '../../deploy/cli';
import type { Command } from './command';

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'deploy policies and the admission webhook to the active kube context',
  usage: 'kyverno-studio deploy POLICY... [--yes] [--dry-run] [--local --url URL] [--policies-only]',
  flags: DEPLOY_FLAGS,
  run: (argv, io) => deployCli(argv, io),
};
