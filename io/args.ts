/** A small flag parser: `--flag value`, `--flag=value`, `-o value`, booleans, repeated flags. */

export interface FlagSpec {
  /** Flags that take a value (long names without dashes); may repeat. */
  values: string[];
  booleans: string[];
  /** Value flags taken whole: not split on commas (Kyverno's plain string flags). */
  scalars?: string[];
  /** Short aliases, e.g. { o: 'output', f: 'file-name' }. */
  aliases?: Record<string, string>;
  /** The values a flag accepts, when they are a fixed list (shell completion offers them). */
  choices?: Record<string, string[]>;
  /**
   * Other long names of a flag, with one dash or two, e.g. Kyverno's spelling of one of ours:
   * { webhookTimeout: 'webhook-timeout' }. Parsed as the flag they name.
   */
  longAliases?: Record<string, string>;
  /** Boolean values as Go's flag package reads them (strconv.ParseBool: 1, t, T, TRUE, True, 0, f...). */
  goBooleans?: boolean;
  /**
   * Flags, as written, that take their Go boolean as a value, `--name false` too (Kyverno's
   * toggles, flag.Func); each sets the boolean it names, itself or its long alias's target.
   */
  toggles?: string[];
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string[]>;
  booleans: Set<string>;
  /** Boolean flags given as `--flag=false` (for flags whose default is true). */
  negated: Set<string>;
}

export class UsageError extends Error {}

/** strconv.ParseBool's spellings, which a Go program's boolean flags take after `=`. */
const GO_BOOLEANS = new Map(['1', 't', 'T', 'TRUE', 'true', 'True'].map((v) => [v, true]).concat(['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v) => [v, false])) as Array<[string, boolean]>);

/** Go's strconv.ParseBool: undefined for a text it refuses (flags, Kyverno's ConfigMap booleans). */
export function parseGoBool(text: string): boolean | undefined {
  return GO_BOOLEANS.get(text);
}

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const out: ParsedArgs = { positionals: [], values: new Map(), booleans: new Set(), negated: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = arg.replace(/^--?/, '');
    let inline: string | undefined;
    if (eq >= 0) {
      name = arg.slice(0, eq).replace(/^--?/, '');
      inline = arg.slice(eq + 1);
    }
    if (!arg.startsWith('--')) name = spec.aliases?.[name] ?? name;
    // A long alias is named in errors as it was written.
    const aliasOf = spec.longAliases && Object.hasOwn(spec.longAliases, name) ? spec.longAliases[name] : undefined;
    const shown = aliasOf !== undefined ? (eq >= 0 ? arg.slice(0, eq) : arg) : `--${name}`;
    const toggle = spec.toggles?.includes(name) === true;
    name = aliasOf ?? name;
    if (toggle) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`flag ${shown} needs a value`);
      // An empty value unsets the toggle, so its default applies (Kyverno's toggle.Parse("")).
      const on = value === '' ? undefined : GO_BOOLEANS.get(value);
      if (value !== '' && on === undefined) throw new UsageError(`invalid boolean value "${value}" for ${shown}`);
      out.booleans.delete(name);
      out.negated.delete(name);
      if (on !== undefined) (on ? out.booleans : out.negated).add(name);
      continue;
    }
    if (spec.booleans.includes(name)) {
      const value = inline === undefined ? true : spec.goBooleans ? GO_BOOLEANS.get(inline) : inline === 'true' ? true : inline === 'false' ? false : undefined;
      if (value === undefined) throw new UsageError(spec.goBooleans ? `invalid boolean value "${inline}" for ${shown}` : `flag ${shown} takes no value`);
      if (value) (out.booleans.add(name), out.negated.delete(name));
      else (out.negated.add(name), out.booleans.delete(name));
      continue;
    }
    if (spec.values.includes(name) || spec.scalars?.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`flag ${shown} needs a value`);
      const list = out.values.get(name) ?? [];
      // Kyverno's string-slice flags also accept comma-separated lists.
      if (spec.scalars?.includes(name)) list.push(value);
      else list.push(...value.split(',').filter((v) => v !== ''));
      out.values.set(name, list);
      continue;
    }
    throw new UsageError(`unknown flag ${arg}`);
  }
  return out;
}

export function single(args: ParsedArgs, name: string): string | undefined {
  const list = args.values.get(name);
  return list && list.length > 0 ? list[list.length - 1] : undefined;
}

/**
 * The opening every command shares: parse, print usage errors (exit 2) and `--help` (exit 0).
 * Returns the parsed flags, or the exit code when the command is already done.
 */
export function parseCommandArgs(
  argv: string[],
  spec: FlagSpec,
  usage: string,
  io: { out(text: string): void; err(text: string): void },
): ParsedArgs | number {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, { ...spec, booleans: spec.booleans.includes('help') ? spec.booleans : [...spec.booleans, 'help'] });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`Error: ${err.message}\n${usage}`);
      return 2;
    }
    throw err;
  }
  if (args.booleans.has('help')) {
    io.out(usage);
    return 0;
  }
  return args;
}
