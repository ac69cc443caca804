import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeE2ePublicKey } from "@private-connect/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isConnectError } from "../errors.js";
import { readKnownAgents, updateKnownAgents } from "./known-agents.js";
import { generateKeyPair } from "./noise/index.js";
import { type PeerKeyChange, PinCache } from "./pin-cache.js";

const server = { agentId: "8c1f0f5e-7a0b-4d5e-9f00-000000000001", label: "db-server", workspaceId: "ws-a" };
let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-pins-"));
  path = join(dir, "known-agents.json");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("the running agent's pins", () => {
  it("pins on first contact, matches after, and writes the pin to known-agents.json owner-only", async () => {
    const pins = await PinCache.open(path);
    const key = generateKeyPair().publicKey;
    expect(pins.hasPin(server.agentId)).toBe(false);
    expect(pins.check(server, key, { service: "db" })).toEqual({ kind: "pinned-now" });
    expect(pins.check(server, key, { service: "db" })).toEqual({ kind: "match", isVerified: false });
    await pins.flush();
    const known = await readKnownAgents(path);
    expect(known.agents[server.agentId]).toMatchObject({ publicKey: encodeE2ePublicKey(key), label: "db-server" });
    // A new process (a restart) reads the pin back.
    const reopened = await PinCache.open(path);
    expect(reopened.check(server, key, { service: "db" }).kind).toBe("match");
  });

  it("refuses another key, records it for connect trust and reports it once per check", async () => {
    const changes: PeerKeyChange[] = [];
    const pins = await PinCache.open(path, { onChanged: (change) => changes.push(change) });
    const key = generateKeyPair().publicKey;
    const swapped = generateKeyPair().publicKey;
    pins.check(server, key, { service: "db" });
    const checked = pins.check(server, swapped, { service: "db" });
    expect(checked.kind).toBe("changed");
    if (checked.kind === "changed") expect(checked.pinnedKey.equals(key)).toBe(true);
    expect(changes).toEqual([
      { peer: server, service: "db", pinnedKey: encodeE2ePublicKey(key), offeredKey: encodeE2ePublicKey(swapped) },
    ]);
    await pins.flush();
    const stored = (await readKnownAgents(path)).agents[server.agentId];
    expect(stored?.publicKey).toBe(encodeE2ePublicKey(key));
    expect(stored?.changedKey).toMatchObject({ publicKey: encodeE2ePublicKey(swapped), service: "db" });
  });

  it("reports a changed key once however often it is offered again, and a second new key again", async () => {
    const changes: PeerKeyChange[] = [];
    const pins = await PinCache.open(path, { onChanged: (change) => changes.push(change) });
    const key = generateKeyPair().publicKey;
    const swapped = generateKeyPair().publicKey;
    const another = generateKeyPair().publicKey;
    pins.check(server, key, { service: "db" });
    for (let i = 0; i < 5; i++) expect(pins.check(server, swapped, { service: "db" }).kind).toBe("changed");
    expect(changes.map((c) => c.offeredKey)).toEqual([encodeE2ePublicKey(swapped)]);
    expect(pins.check(server, another, { service: "db" }).kind).toBe("changed");
    expect(changes.map((c) => c.offeredKey)).toEqual([encodeE2ePublicKey(swapped), encodeE2ePublicKey(another)]);
    // A restart reads the recorded change back and does not report it a second time.
    await pins.flush();
    const reopened = await PinCache.open(path, { onChanged: (change) => changes.push(change) });
    expect(reopened.check(server, another, { service: "db" }).kind).toBe("changed");
    expect(changes).toHaveLength(2);
  });

  it("lets a pin removed from the file by another process stay removed", async () => {
    const pins = await PinCache.open(path);
    const key = generateKeyPair().publicKey;
    pins.check(server, key, { service: "db" });
    await pins.flush();
    await updateKnownAgents(path, (known) => {
      delete known.agents[server.agentId];
    });
    expect(pins.hasPin(server.agentId)).toBe(false);
    const next = generateKeyPair().publicKey;
    expect(pins.check(server, next, { service: "db" })).toEqual({ kind: "pinned-now" });
    // The new pin is written in the background; wait for it, so the file is not removed under it.
    await pins.flush();
    expect((await readKnownAgents(path)).agents[server.agentId]?.publicKey).toBe(encodeE2ePublicKey(next));
  });

  it("sees what connect trust and connect verify write from another process, without a restart", async () => {
    const pins = await PinCache.open(path);
    const key = generateKeyPair().publicKey;
    const replacement = generateKeyPair().publicKey;
    pins.check(server, key, { service: "db" });
    await pins.flush();
    await updateKnownAgents(path, (known) => {
      const agent = known.agents[server.agentId];
      if (agent !== undefined) agent.publicKey = encodeE2ePublicKey(replacement);
    });
    expect(pins.check(server, replacement, { service: "db" }).kind).toBe("match");
    expect(pins.check(server, key, { service: "db" }).kind).toBe("changed");
    await pins.flush();
    await updateKnownAgents(path, (known) => {
      const agent = known.agents[server.agentId];
      if (agent !== undefined) agent.verifiedAt = new Date().toISOString();
    });
    expect(pins.check(server, replacement, { service: "db" })).toEqual({ kind: "match", isVerified: true });
  });

  it("keeps what it holds when the file is broken by hand later, and refuses to start on a broken file", async () => {
    const errors: unknown[] = [];
    const pins = await PinCache.open(path, { onFileError: (error) => errors.push(error) });
    const key = generateKeyPair().publicKey;
    pins.check(server, key, { service: "db" });
    await pins.flush();
    await writeFile(path, "{ half written");
    expect(pins.check(server, key, { service: "db" }).kind).toBe("match");
    expect(pins.hasPin(server.agentId)).toBe(true);
    expect(errors).toHaveLength(1);
    const error = await PinCache.open(path).catch((caught: unknown) => caught);
    expect(isConnectError(error, "CONFIG_UNREADABLE")).toBe(true);
    expect(await readFile(path, "utf8")).toBe("{ half written");
  });

  it("loses no pin when two writers change the file at once", async () => {
    const keys = Array.from({ length: 20 }, () => generateKeyPair().publicKey);
    await Promise.all(
      keys.map((key, index) =>
        updateKnownAgents(path, (known) => {
          known.agents[`agent-${index}`] = {
            publicKey: encodeE2ePublicKey(key),
            label: `a${index}`,
            workspaceId: "ws",
            firstSeenAt: new Date().toISOString(),
          };
        }),
      ),
    );
    expect(Object.keys((await readKnownAgents(path)).agents)).toHaveLength(20);
  });
});
