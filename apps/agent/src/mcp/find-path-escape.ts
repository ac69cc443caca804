import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";

/**
 * Why `file` may not be read on an AI client's behalf, or undefined when it may: it must name a
 * file inside `workingDir`, also once symbolic links are followed. Otherwise a tool meant for the
 * project's pconnect.yml would read ~/.ssh or the agent's own token for whoever asks.
 */
export async function findPathEscape(workingDir: string, file: string): Promise<string | undefined> {
  if (file.includes("\u0000")) return "file must not contain NUL characters";
  const path = resolve(workingDir, file);
  if (!isInside(workingDir, path)) {
    return `${file} is outside the working directory ${workingDir}: get_connection_info reads only the project's own files there`;
  }
  let realFile: string;
  try {
    realFile = await realpath(path);
  } catch {
    // Nothing there (yet): no link to follow; reading it reports the missing file.
    return undefined;
  }
  const realDir = await realpath(workingDir);
  if (!isInside(realDir, realFile)) {
    return `${file} leads outside the working directory ${workingDir} through a symbolic link: get_connection_info reads only the project's own files there`;
  }
  return undefined;
}

/** Strictly below `dir` (the directory itself is no file to read). */
export function isInside(dir: string, path: string): boolean {
  const rest = relative(dir, path);
  return rest !== "" && rest !== ".." && !rest.startsWith(`..${sep}`) && !isAbsolute(rest);
}
