import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Whether `<dir>/.gitignore` ignores a file of that name at the top of the directory. Reads only
 * the simple patterns people write for it (`.env.pconnect`, `/.env.pconnect`, `.env*`,
 * `*.pconnect`); a pattern this does not understand only costs a line of advice, never a skipped one.
 */
export async function isListedInGitignore(dir: string, fileName: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, ".gitignore"), "utf8");
  } catch {
    return false;
  }
  let isIgnored = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const isNegated = line.startsWith("!");
    const pattern = (isNegated ? line.slice(1) : line).replace(/^\//, "");
    if (pattern.includes("/") || !matchesGlob(pattern, fileName)) continue;
    // A later !pattern un-ignores the file again, as git reads it.
    isIgnored = !isNegated;
  }
  return isIgnored;
}

function matchesGlob(pattern: string, name: string): boolean {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? "[^/]*" : char === "?" ? "[^/]" : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`).test(name);
}
