import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentIdentity, writeIdentity } from "../config/identity.js";
import { type ConfigPaths, getConfigPaths } from "../config/paths.js";
import { type FakeHubAnswer, type FakeHubCall, type FakeHubServer, startFakeHubServer } from "./fake-hub-server.js";

export interface RegisteredAgent {
  /** The agent's config directory (0700, as connect up makes it). */
  dir: string;
  paths: ConfigPaths;
  hub: FakeHubServer;
  identity: AgentIdentity;
  /** Stops the fake hub and removes the directory. */
  close(): Promise<void>;
}

/**
 * A config directory holding an agent already registered to a fake hub that answers with
 * `answer`: what a command test needs before it runs `connect <command> --config dir`. The
 * identity is acme's agent `laptop` unless `identity` says otherwise.
 */
export async function openRegisteredAgent(
  answer: (call: FakeHubCall) => FakeHubAnswer | undefined,
  identity: Partial<Omit<AgentIdentity, "hubUrl">> = {},
): Promise<RegisteredAgent> {
  const dir = await mkdtemp(join(tmpdir(), "pc-agent-"));
  const paths = getConfigPaths(dir);
  const hub = await startFakeHubServer(answer);
  const written: AgentIdentity = {
    hubUrl: hub.url,
    agentId: "00000000-0000-4000-8000-00000000000a",
    token: "a".repeat(64),
    tokenExpiresAt: "2030-03-01T00:00:00.000Z",
    workspace: { id: "00000000-0000-4000-8000-000000000001", name: "acme" },
    label: "laptop",
    ...identity,
  };
  await writeIdentity(paths.identity, written);
  return {
    dir,
    paths,
    hub,
    identity: written,
    close: async () => {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
