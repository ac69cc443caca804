import { describe, expect, it } from "vitest";
import { type CommandSpec, isHelpRequested, parseCommandArgs, UsageError } from "./cli-args.js";

const spec = {
  name: "agent revoke",
  positionals: ["LABEL|ID"],
  options: { workspace: { type: "string" }, json: { type: "boolean", default: false } },
  help: "Usage: connect-hub agent revoke LABEL|ID --workspace SLUG|ID",
} satisfies CommandSpec;

function usageErrorOf(argv: string[]): UsageError {
  try {
    parseCommandArgs(spec, argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`parseCommandArgs accepted ${argv.join(" ")}`);
}

describe("isHelpRequested", () => {
  it("finds --help or -h anywhere before --, even next to a wrong flag", () => {
    expect(isHelpRequested(["--help"])).toBe(true);
    expect(isHelpRequested(["laptop", "--bogus", "-h"])).toBe(true);
    expect(isHelpRequested(["laptop", "--workspace", "acme"])).toBe(false);
    expect(isHelpRequested(["--", "--help"])).toBe(false);
    expect(isHelpRequested(["--helper"])).toBe(false);
  });
});

describe("parseCommandArgs", () => {
  it("returns typed flags and positionals", () => {
    const parsed = parseCommandArgs(spec, ["laptop", "--workspace", "acme", "--json"]);
    expect(parsed.positionals).toEqual(["laptop"]);
    expect(parsed.values).toEqual({ workspace: "acme", json: true });
  });

  it("words each mistake as one line that points at the command's --help", () => {
    const cases: Array<[string[], string]> = [
      [["laptop", "--bogus"], "Unknown option --bogus: run connect-hub agent revoke --help"],
      [["laptop", "-x"], "Unknown option -x: run connect-hub agent revoke --help"],
      [["laptop", "--workspace"], "Option --workspace needs a value: run connect-hub agent revoke --help"],
      [["laptop", "--workspace", "--json"], "Option --workspace needs a value: run connect-hub agent revoke --help"],
      [["laptop", "--json=yes"], "Option --json takes no value: run connect-hub agent revoke --help"],
      [
        ["laptop", "server"],
        'Unexpected argument "server": connect-hub agent revoke takes only LABEL|ID; run connect-hub agent revoke --help',
      ],
    ];
    for (const [argv, message] of cases) {
      const error = usageErrorOf(argv);
      expect(error.message).toBe(message);
      expect(error.message).not.toContain("\n");
    }
  });

  it("refuses any positional for a command that takes none", () => {
    const none = { ...spec, name: "start", positionals: [] } satisfies CommandSpec;
    expect(() => parseCommandArgs(none, ["now"])).toThrow(
      'Unexpected argument "now": connect-hub start takes no arguments; run connect-hub start --help',
    );
  });
});
