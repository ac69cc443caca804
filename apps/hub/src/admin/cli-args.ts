import { type ParseArgsConfig, parseArgs } from "node:util";

/** node:util names this type but does not export it. */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/**
 * A mistake in the command line (unknown command or flag, a missing argument, a bad flag value):
 * the CLI prints its one line and exits 2, the code shells and scripts read as "usage".
 */
export class UsageError extends Error {}

/** A command of `connect-hub`: the words that name it, its flags, and the help `--help` prints. */
export interface CommandSpec<Options extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  /** The words after `connect-hub`: "start", "workspace create". */
  name: string;
  options: Options;
  /** The positional arguments it takes, by name, in order (none: empty). */
  positionals: readonly string[];
  help: string;
}

/** A command's parsed flags and positionals, typed by its spec's options. */
export type ParsedCommand<Options extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>
>;

/**
 * Whether `--help` or `-h` is among the arguments (before a `--`, after which everything is a
 * positional): help wins over every other flag, even a wrong one, so asking for it never fails.
 */
export function isHelpRequested(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/** Parses a command's arguments; any mistake becomes one UsageError line that points at its --help. */
export function parseCommandArgs<Options extends ParseArgsOptionsConfig>(
  spec: CommandSpec<Options>,
  argv: string[],
): ParsedCommand<Options> {
  let parsed: ParsedCommand<Options>;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${describeParseError(error)}: run connect-hub ${spec.name} --help`);
  }
  const extra = parsed.positionals[spec.positionals.length];
  if (extra !== undefined) {
    const takes = spec.positionals.length === 0 ? "takes no arguments" : `takes only ${spec.positionals.join(" ")}`;
    throw new UsageError(
      `Unexpected argument "${extra}": connect-hub ${spec.name} ${takes}; run connect-hub ${spec.name} --help`,
    );
  }
  return parsed;
}

/** node:util's parse errors, reworded as one short sentence (its own say "use --" and span lines). */
export function describeParseError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `Unknown option ${quoted}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `Unexpected argument "${quoted}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = quoted.split(" ")[0] ?? quoted;
    return message.includes("does not take an argument") ? `Option ${option} takes no value` : `Option ${option} needs a value`;
  }
  return message.split("\n")[0] ?? message;
}
