/** `kyverno-studio deploy`: see deploy/cli.ts (loaded on demand: it brings the Kubernetes client). */
import { DEPLOY_FLAGS } from '../../deploy/flags';
import type { Command } from './command';

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'deploy policies and the admission webhook to the active kube context',
  usage: 'kyverno-studio deploy POLICY... [--yes] [--dry-run] [--local --url URL] [--policies-only]',
  flags: DEPLOY_FLAGS,
  run: async (argv, io) => (await import('../../deploy/cli')).deployCli(argv, io),
};
