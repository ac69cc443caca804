import { stat } from "node:fs/promises";
import { ConnectError } from "../errors.js";
import type { CommandRunner } from "./command-runner.js";

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/**
 * The unprivileged user a system service runs the agent as: --user, else whoever ran sudo, else
 * the current user. Never root: the agent relays bytes from the network and needs none of
 * root's rights. The user must own the config directory, which the agent writes to.
 */
export async function resolveServiceUser(options: {
  requested: string | undefined;
  currentUid: number;
  currentUser: string;
  sudoUser: string | undefined;
  configDir: string;
  runner: CommandRunner;
}): Promise<string> {
  const name = options.requested ?? (options.currentUid === 0 ? options.sudoUser : options.currentUser);
  const example = `connect daemon install --system --user NAME --config /home/NAME/.private-connect`;
  if (name === undefined) {
    throw new ConnectError(
      "INVALID_INPUT",
      `Refusing to run the agent as root: pass --user NAME, an unprivileged user who owns the config directory (${example})`,
    );
  }
  if (!USER_NAME.test(name)) throw new ConnectError("INVALID_INPUT", `"${name}" is not a user name: pass --user NAME`);
  const looked = await options.runner("id", ["-u", name]);
  const uid = Number.parseInt(looked.stdout.trim(), 10);
  if (looked.exitCode !== 0 || !Number.isInteger(uid)) {
    throw new ConnectError("INVALID_INPUT", `There is no user ${name} on this machine: pass --user with an existing one`);
  }
  if (uid === 0) {
    throw new ConnectError(
      "INVALID_INPUT",
      `Refusing to run the agent as root (${name} has uid 0): pass --user NAME, an unprivileged user who owns the config directory (${example})`,
    );
  }
  const owner = await stat(options.configDir).then(
    (info) => info.uid,
    () => undefined,
  );
  if (owner !== uid) {
    throw new ConnectError(
      "INVALID_INPUT",
      `${options.configDir} ${owner === undefined ? "does not exist" : `belongs to uid ${owner}`}, not to ${name} (uid ${uid}), who would run the agent: pass --config with ${name}'s config directory, or --user with its owner`,
    );
  }
  return name;
}
