import { findUnprintableCharacter } from "@private-connect/protocol";
import { z } from "zod";

/**
 * A label or name shown to people: trimmed, 1 to `max` characters, and none of the characters
 * findUnprintableCharacter finds (control characters, line breaks, direction overrides), since a
 * name chosen in one workspace is printed in the terminal and dashboard of another. `field`
 * starts each message ("Agent label"), `fix` ends a refusal with what to do instead.
 */
export function displayName(options: {
  field: string;
  max: number;
  /** The whole message for an empty name: it says what to pass instead. */
  emptyMessage: string;
  /** The whole message for a name over `max` characters. */
  tooLongMessage?: string;
  fix: string;
  /** For a value that is not a string at all (a REST body). */
  typeMessage?: string;
}) {
  const { field, max, fix } = options;
  const base = options.typeMessage === undefined ? z.string() : z.string({ error: options.typeMessage });
  return base
    .trim()
    .min(1, options.emptyMessage)
    .max(max, options.tooLongMessage ?? `${field} must be at most ${max} characters`)
    .refine((text) => findUnprintableCharacter(text) === undefined, {
      error: (issue) =>
        `${field} must not contain control characters, line breaks or text-direction marks (it contains ${findUnprintableCharacter(String(issue.input))}): ${fix}`,
    });
}

/** An agent's label, as `connect up --label` and `connect login --label` send it. */
export const agentLabel = displayName({
  field: "Agent label",
  max: 64,
  emptyMessage: "Agent label must not be empty: pass --label <name>",
  tooLongMessage: "Agent label must be at most 64 characters: pass a shorter --label",
  fix: "pass a different --label",
});
