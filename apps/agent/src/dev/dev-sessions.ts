import { join } from "node:path";
import { z } from "zod";
import { withFileLock } from "../config/file-lock.js";
import { readJsonFile, writeJsonFileAtomic } from "../config/json-file.js";

/**
 * What connect dev made, per project file, kept in the agent's config directory rather than
 * next to pconnect.yml: the reaches belong to that agent (another --config has its own), and a
 * file in a repository could otherwise be committed, or planted, to make --stop stop reaches
 * the user made by hand.
 */
export const DEV_SESSIONS_FILE_NAME = "dev-sessions.json";

const devReachSchema = z.object({
  service: z.string().min(1),
  from: z.string().min(1).optional(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

const devSessionSchema = z.object({
  /** The project file's absolute path: the key. */
  projectFile: z.string().min(1),
  /** The .env.pconnect dev wrote, when it wrote one. */
  envFile: z.string().min(1).optional(),
  /** Only the reaches dev bound itself: a reach that was there before is not listed. */
  reaches: z.array(devReachSchema),
  updatedAt: z.string(),
});

const devSessionsSchema = z.object({ sessions: z.array(devSessionSchema) });

export type DevReach = z.infer<typeof devReachSchema>;
export type DevSession = z.infer<typeof devSessionSchema>;

export function getDevSessionsPath(configDir: string): string {
  return join(configDir, DEV_SESSIONS_FILE_NAME);
}

export function isSameReach(left: Pick<DevReach, "service" | "from">, right: Pick<DevReach, "service" | "from">): boolean {
  return left.service === right.service && left.from === right.from;
}

export async function readDevSession(configDir: string, projectFile: string): Promise<DevSession | undefined> {
  const stored = await readJsonFile(getDevSessionsPath(configDir), devSessionsSchema);
  return stored?.sessions.find((session) => session.projectFile === projectFile);
}

/**
 * Changes one project's session under the file's lock (two connect dev runs at once each keep
 * the other's); `change` returns the new session, or undefined to forget the project.
 */
export async function updateDevSession(
  configDir: string,
  projectFile: string,
  change: (session: DevSession | undefined) => DevSession | undefined,
): Promise<DevSession | undefined> {
  const path = getDevSessionsPath(configDir);
  return withFileLock(path, async () => {
    const stored = (await readJsonFile(path, devSessionsSchema)) ?? { sessions: [] };
    const others = stored.sessions.filter((session) => session.projectFile !== projectFile);
    const changed = change(stored.sessions.find((session) => session.projectFile === projectFile));
    const isEmpty = changed === undefined || (changed.reaches.length === 0 && changed.envFile === undefined);
    const sessions = isEmpty ? others : [...others, changed];
    await writeJsonFileAtomic(path, { sessions });
    return isEmpty ? undefined : changed;
  });
}

/** Adds reaches to a project's session (the ones this run bound). */
export function addDevReaches(configDir: string, projectFile: string, reaches: readonly DevReach[]) {
  return updateDevSession(configDir, projectFile, (session) => ({
    projectFile,
    ...(session?.envFile === undefined ? {} : { envFile: session.envFile }),
    reaches: [...(session?.reaches ?? []).filter((known) => !reaches.some((reach) => isSameReach(reach, known))), ...reaches],
    updatedAt: new Date().toISOString(),
  }));
}

/** Drops reaches from a project's session (stopped again). */
export function removeDevReaches(configDir: string, projectFile: string, reaches: readonly DevReach[]) {
  return updateDevSession(configDir, projectFile, (session) =>
    session === undefined
      ? undefined
      : {
          ...session,
          reaches: session.reaches.filter((known) => !reaches.some((reach) => isSameReach(reach, known))),
          updatedAt: new Date().toISOString(),
        },
  );
}

/** Records (or, with undefined, forgets) the .env.pconnect dev wrote for a project. */
export function setDevEnvFile(configDir: string, projectFile: string, envFile: string | undefined) {
  return updateDevSession(configDir, projectFile, (session) => {
    const { envFile: _previous, ...rest } = session ?? { projectFile, reaches: [], updatedAt: "" };
    return { ...rest, ...(envFile === undefined ? {} : { envFile }), updatedAt: new Date().toISOString() };
  });
}

/** Forgets everything recorded for a project (connect dev --stop). */
export function forgetDevSession(configDir: string, projectFile: string) {
  return updateDevSession(configDir, projectFile, () => undefined);
}
