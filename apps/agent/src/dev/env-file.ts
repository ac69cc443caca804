import { writeFileAtomic } from "../config/json-file.js";
import { ConnectError } from "../errors.js";
import type { ConnectionVariable } from "../project/index.js";

/** Written next to pconnect.yml; never committed (the output says so when .gitignore misses it). */
export const ENV_FILE_NAME = ".env.pconnect";

/**
 * One `NAME='value'` line per variable. Single quotes, because every dotenv reader (dotenv,
 * docker compose, direnv's dotenv, python-dotenv) takes what is inside them verbatim: no `$`
 * expansion, no escapes. A value that a single-quoted line cannot carry is refused rather than
 * escaped in a way some reader would misread; the project schema already keeps such characters
 * out of url templates.
 */
export function formatEnvFile(variables: readonly ConnectionVariable[], projectPath: string): string {
  const lines = variables.map(({ name, value }) => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
    if (/['\u0000-\u001f\u007f]/.test(value)) {
      throw new ConnectError(
        "INVALID_INPUT",
        `The value of ${name} holds a quote or a control character, which ${ENV_FILE_NAME} cannot carry: change its url in ${projectPath}`,
      );
    }
    return `${name}='${value}'`;
  });
  return [`# Written by connect dev from ${projectPath}; removed by connect dev --stop. Do not commit.`, ...lines, ""].join("\n");
}

/**
 * Writes the file owner-only (it may hold a user name, or a password a url template carries)
 * through a temporary file renamed over the target: a reader sees the old file or the new one,
 * never half of one, and the mode is right from the first byte.
 */
export async function writeEnvFile(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, 0o600);
}
