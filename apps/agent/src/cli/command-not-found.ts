import type { Hook } from "@oclif/core";

/**
 * The command closest to what was typed, by edit distance over whole command ids ("share:list"),
 * or undefined when nothing is close enough to be a likely typo (at most 2 edits, or a third of
 * the word for long ones), so `connect frobnicate` is not told it meant `connect reach`.
 */
export function suggestCommand(typed: string, commandIds: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  let best: { id: string; distance: number } | undefined;
  for (const id of commandIds) {
    const distance = editDistance(typed, id);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { id, distance };
  }
  return best?.id;
}

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A mistyped command: one line that names the likely command and where the list is, exit 127 (a
 * shell's "command not found"), no stack. No prompt that would run another command than the one
 * typed, and the same answer in a terminal as in a script.
 */
const commandNotFound: Hook<"command_not_found"> = async function (options) {
  const { config } = options;
  const visible = config.commands.filter((command) => !command.hidden).flatMap((command) => [command.id, ...command.aliases]);
  const spaced = (id: string) => id.replaceAll(":", " ");
  const typed = spaced(options.id);
  const suggestion = suggestCommand(options.id, visible);
  const topic = options.id.includes(":") ? options.id.split(":")[0] : undefined;
  const help = topic !== undefined && config.findTopic(topic) ? `${config.bin} help ${topic}` : `${config.bin} help`;
  const guess = suggestion === undefined ? "" : ` Did you mean ${config.bin} ${spaced(suggestion)}?`;
  // Written whole rather than through this.error, which wraps the line at 80 columns.
  process.stderr.write(`Error: "${typed}" is not a ${config.bin} command.${guess} Run ${help} for the list.\n`);
  this.exit(127);
};

export default commandNotFound;
