import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export interface HubSecrets {
  jwtSecret: string;
  encryptionKey: Buffer;
}

const storedSecrets = z.object({ jwtSecret: z.string().min(32), encryptionKey: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * JWT_SECRET and ENCRYPTION_KEY from the environment, or, for the embedded default, from
 * secrets.json in the data directory (created once with mode 0600). Keeping them there
 * means sessions survive a restart without the user ever having to set a variable.
 */
export async function loadSecrets(
  env: { JWT_SECRET?: string | undefined; ENCRYPTION_KEY?: string | undefined },
  dataDir: string,
): Promise<HubSecrets> {
  if (env.JWT_SECRET && env.ENCRYPTION_KEY) {
    return { jwtSecret: env.JWT_SECRET, encryptionKey: Buffer.from(env.ENCRYPTION_KEY, "hex") };
  }
  const path = join(dataDir, "secrets.json");
  let stored: z.infer<typeof storedSecrets>;
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text === undefined) {
    stored = { jwtSecret: randomBytes(32).toString("base64url"), encryptionKey: randomBytes(32).toString("hex") };
    await writeFile(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  } else {
    const parsed = storedSecrets.safeParse(parseJson(text));
    if (!parsed.success) throw new Error(`${path} is damaged: restore it from a backup, or set JWT_SECRET and ENCRYPTION_KEY`);
    stored = parsed.data;
  }
  return {
    jwtSecret: env.JWT_SECRET ?? stored.jwtSecret,
    encryptionKey: Buffer.from(env.ENCRYPTION_KEY ?? stored.encryptionKey, "hex"),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Where the embedded default keeps the dashboard's secret; `npm start` reads it from here. */
export const FRONT_END_SECRET_FILE = "front-end-secret";

/**
 * The secret the dashboard proves itself with: FRONT_END_SECRET, or a file of its own in the data
 * directory (mode 0600, created once), so a dashboard on this machine can read it without the
 * hub's other secrets and nobody has to set a variable. Never derived from anything a browser sees.
 */
export async function loadFrontEndSecret(env: { FRONT_END_SECRET?: string | undefined }, dataDir: string): Promise<string> {
  if (env.FRONT_END_SECRET) return env.FRONT_END_SECRET;
  return loadSecretFile(
    join(dataDir, FRONT_END_SECRET_FILE),
    "(the hub makes a new one, npm start passes it on) or set FRONT_END_SECRET",
  );
}

/** A random secret in a file of its own (mode 0600), made on first use; `damagedHint` says what to do if it is unusable. */
async function loadSecretFile(path: string, damagedHint: string): Promise<string> {
  try {
    await writeFile(path, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const secret = (await readFile(path, "utf8")).trim();
  if (secret.length < 32) throw new Error(`${path} is damaged: delete it ${damagedHint}`);
  return secret;
}

/** Where a hub keeps a generated CLUSTER_SECRET (mode 0600), for hubs that share one machine. */
export const CLUSTER_SECRET_FILE = "cluster-secret";

/**
 * CLUSTER_SECRET, which hubs prove themselves to each other with: from the environment, or made
 * once in the data directory. A generated one suits hub workers of one machine (`--workers`), which
 * share the data directory; hubs on several machines must be given the same value, and a hub
 * whose secret differs from the running hubs' refuses to start (cluster/hub-registry.ts).
 */
export async function loadClusterSecret(env: { CLUSTER_SECRET?: string | undefined }, dataDir: string): Promise<string> {
  if (env.CLUSTER_SECRET) return env.CLUSTER_SECRET;
  return loadSecretFile(join(dataDir, CLUSTER_SECRET_FILE), "(the hub makes a new one) or set CLUSTER_SECRET");
}
