/**
 * `kyverno-studio create pack pss-baseline|pss-restricted`: the Pod Security Standards sets of
 * the kyverno-policies Helm chart with the chosen failure action and excluded namespaces,
 * printed as one multi-document YAML stream or written as one file per policy to `-o DIR`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs, single, type FlagSpec } from '../../io/args';
import { findPacksDir, readPackFiles, readPackNotice } from '../../packs/files';
import { isPackAction, isPackName, PACK_ACTIONS, PACK_NAMES, PACK_SUMMARIES, parseNamespaceList, renderPack } from '../../packs/render';
import type { CommandIO } from './command';
import { errorText } from './command';

export const PACK_SUMMARY = 'Kyverno policy packs: Pod Security Standards baseline or restricted';

export const PACK_USAGE = `Usage: kyverno-studio create pack <${PACK_NAMES.join('|')}> [flags]

Writes a policy pack as the kyverno-policies Helm chart installs it (policies from Kyverno's
sample library, Apache-2.0, the Kyverno authors).

Packs:
${PACK_NAMES.map((n) => `  ${n.padEnd(16)}${PACK_SUMMARIES[n]}`).join('\n')}

Flags:
      --action ACTION                 validationFailureAction: Audit (default) or Enforce
      --exclude-namespaces NS[,NS]    namespaces every rule excludes
  -o, --output DIR                    write one file per policy (and the NOTICE) to DIR
                                      instead of printing one YAML stream
  -h, --help                          show this help`;

export const PACK_FLAGS: FlagSpec = {
  values: ['exclude-namespaces'],
  scalars: ['action', 'output'],
  booleans: ['help'],
  aliases: { o: 'output', h: 'help' },
  choices: { action: [...PACK_ACTIONS] },
};

export function runCreatePack(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, PACK_FLAGS, PACK_USAGE, io);
  if (typeof args === 'number') return args;
  if (args.positionals.length !== 1 || !isPackName(args.positionals[0])) {
    io.err(`Error: expected one pack name (${PACK_NAMES.join(', ')}), got ${args.positionals.length === 0 ? 'none' : `"${args.positionals.join(' ')}"`}\n${PACK_USAGE}`);
    return 1;
  }
  const action = single(args, 'action') ?? 'Audit';
  if (!isPackAction(action)) {
    io.err(`Error: invalid --action "${action}", expected ${PACK_ACTIONS.join(' or ')}`);
    return 1;
  }
  const excludeNamespaces = parseNamespaceList((args.values.get('exclude-namespaces') ?? []).join(','));
  const packsDir = findPacksDir(__dirname);
  if (!packsDir) {
    io.err('Error: the policy packs are missing from this installation (packs/ not found)');
    return 1;
  }
  try {
    const files = renderPack(readPackFiles(packsDir, args.positionals[0]), { action, excludeNamespaces });
    const out = single(args, 'output');
    if (out) {
      mkdirSync(out, { recursive: true });
      for (const f of files) writeFileSync(join(out, f.name), f.text);
      writeFileSync(join(out, 'NOTICE'), readPackNotice(packsDir));
      io.err(`Wrote ${files.length} policies and the NOTICE to ${out}`);
    } else {
      io.out(files.map((f) => f.text.replace(/\n$/, '')).join('\n---\n'));
    }
    return 0;
  } catch (err) {
    io.err(`Error: ${errorText(err)}`);
    return 1;
  }
}
