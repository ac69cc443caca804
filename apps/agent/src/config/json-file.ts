import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";
import { ConnectError } from "../errors.js";

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

/**
 * Reads a JSON file and checks its shape. A missing file is `undefined`; a file that exists but
 * cannot be used is an error naming it, because silently starting over would lose the identity
 * or the exposures a user relies on.
 */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (isNodeError(error) && error.code === "ENOENT") return undefined;
    throw new ConnectError("CONFIG_UNREADABLE", `Cannot read ${path}: ${isNodeError(error) ? error.message : String(error)}`, {
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConnectError("CONFIG_UNREADABLE", `${path} is not valid JSON: fix or remove it (it was left untouched)`, {
      cause: error,
    });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new ConnectError(
      "CONFIG_UNREADABLE",
      `${path} has an unexpected shape${where} (${issue?.message ?? "invalid"}): fix or remove it (it was left untouched)`,
    );
  }
  return parsed.data;
}

export async function ensureConfigDir(dir: string): Promise<void> {
  // 0700 only applies when we create the directory; an existing directory the user chose keeps
  // its mode, and the secrets inside are protected by their own 0600 files.
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Writes JSON atomically (see writeFileAtomic), creating the config directory when missing. */
export async function writeJsonFileAtomic(path: string, data: unknown, mode = 0o600): Promise<void> {
  await ensureConfigDir(dirname(path));
  await writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`, mode);
}

/**
 * Writes `text` through a temporary file in the same directory and renames it over the target,
 * so a crash or a full disk leaves either the old file or the new one, never half of one, and
 * the mode is right from the first byte.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    // open's mode passes through the umask, which can only remove bits; chmod states it outright.
    await handle.chmod(mode);
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
