import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { REDACTED } from "./scrub-text.js";
import { CIRCULAR, describeBinary, scrubFields, scrubSecrets, TRUNCATED } from "./scrub-value.js";

const API_KEY = `pc_${"Zq8".repeat(10)}Xy`;
const AGENT_TOKEN = randomBytes(32).toString("hex");
const PAYLOAD = `CANARY-PAYLOAD-${randomBytes(6).toString("hex")}`;

/** Everything a scrubbed value would put in a log line. */
function serialize(value: unknown): string {
  return JSON.stringify(scrubSecrets(value));
}

describe("scrubSecrets: structure", () => {
  it("scrubs strings at any depth of nested objects and arrays", () => {
    let deep: Record<string, unknown> = { note: `key ${API_KEY} and token ${AGENT_TOKEN}` };
    for (let level = 0; level < 25; level += 1) deep = { level, child: deep, list: [{ also: `Bearer ${AGENT_TOKEN}` }] };
    const text = serialize(deep);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(AGENT_TOKEN);
    expect(text.match(/\[REDACTED\]/g)?.length).toBe(2 + 25);
    // The shape survives: what is not secret is still there to read.
    expect(text).toContain('"level":24');
  });

  it("scrubs arrays of arrays, Maps and Sets", () => {
    const value = {
      rows: [[`${API_KEY}`], [[`x ${AGENT_TOKEN}`]]],
      map: new Map<string, unknown>([
        ["authorization", "opaque-credential"],
        ["note", `uses ${API_KEY}`],
      ]),
      set: new Set([`Bearer xyz`, "fine"]),
    };
    expect(scrubSecrets(value)).toEqual({
      rows: [[REDACTED], [[`x ${REDACTED}`]]],
      map: { authorization: REDACTED, note: `uses ${REDACTED}` },
      set: [`Bearer ${REDACTED}`, "fine"],
    });
  });

  it("does not change the value it was given", () => {
    const value = { headers: { authorization: `Bearer ${AGENT_TOKEN}` }, list: [API_KEY] };
    const before = JSON.stringify(value);
    scrubSecrets(value);
    expect(JSON.stringify(value)).toBe(before);
  });

  it("marks cycles instead of crashing, and keeps shared (acyclic) references", () => {
    const node: Record<string, unknown> = { name: "a", secret: "s" };
    node.self = node;
    const list: unknown[] = [node];
    list.push(list);
    const shared = { token: AGENT_TOKEN, label: "shared" };
    const scrubbed = scrubSecrets({ node, list, left: shared, right: shared }) as Record<string, unknown>;
    expect(scrubbed.node).toEqual({ name: "a", secret: REDACTED, self: CIRCULAR });
    expect(scrubbed.list).toEqual([{ name: "a", secret: REDACTED, self: CIRCULAR }, CIRCULAR]);
    expect(scrubbed.left).toEqual({ token: REDACTED, label: "shared" });
    expect(scrubbed.right).toEqual({ token: REDACTED, label: "shared" });
  });

  it("cuts values deeper or larger than a log line should be, without logging them raw", () => {
    let deep: unknown = API_KEY;
    for (let level = 0; level < 500; level += 1) deep = { d: deep };
    const text = serialize(deep);
    expect(text).toContain(TRUNCATED);
    expect(text).not.toContain("Zq8Zq8");

    const wide = Array.from({ length: 200_000 }, (_, i) => `${i} ${API_KEY}`);
    const cut = scrubSecrets(wide) as string[];
    expect(cut.length).toBeLessThan(20_000);
    expect(cut.at(-1)).toBe(TRUNCATED);
    expect(JSON.stringify(cut)).not.toContain("Zq8Zq8");
  });

  it("never throws, even on getters and toJSON that throw", () => {
    const hostile = {
      get boom(): string {
        throw new Error(`getter with ${API_KEY}`);
      },
    };
    const badJson = {
      toJSON(): never {
        throw new Error(`toJSON with ${API_KEY}`);
      },
    };
    expect(() => scrubSecrets({ hostile, badJson })).not.toThrow();
    expect(serialize({ hostile, badJson })).not.toContain("Zq8Zq8");
  });

  it("writes what JSON.stringify would (toJSON), scrubbed", () => {
    const url = new URL(`https://hub.example.com/auth/verify?token=${"Ab1".repeat(14)}x`);
    const at = new Date("2026-11-29T02:46:17.123Z");
    expect(scrubSecrets({ url, at })).toEqual({
      url: `https://hub.example.com/auth/verify?token=${REDACTED}`,
      at: "2026-11-29T02:46:17.123Z",
    });
  });
});

describe("scrubSecrets: secrets by key", () => {
  it("redacts whole values under credential keys, whatever they look like", () => {
    const scrubbed = scrubSecrets({
      headers: {
        Authorization: "Digest something-odd",
        "proxy-authorization": "x",
        cookie: "theme=dark; pc_session=abc",
        "set-cookie": ["pc_session=abc; HttpOnly", "other=1"],
        "x-api-key": "short",
        host: "hub.example.com",
      },
      agentToken: "not-hex-at-all",
      pendingToken: 12345,
      jwtSecret: "x".repeat(40),
      password: "hunter2",
      shareCode: "K7M2-QX9P",
      userCode: "ABCD-EFGH",
      tokenExpiresAt: "2026-12-01T00:00:00.000Z",
      hasToken: true,
      token: undefined,
    });
    expect(scrubbed).toEqual({
      headers: {
        Authorization: REDACTED,
        "proxy-authorization": REDACTED,
        cookie: REDACTED,
        "set-cookie": REDACTED,
        "x-api-key": REDACTED,
        host: "hub.example.com",
      },
      agentToken: REDACTED,
      pendingToken: REDACTED,
      jwtSecret: REDACTED,
      password: REDACTED,
      shareCode: REDACTED,
      userCode: REDACTED,
      tokenExpiresAt: "2026-12-01T00:00:00.000Z",
      hasToken: true,
      token: undefined,
    });
  });
});

describe("scrubSecrets: IP addresses", () => {
  it("masks every address under IP-like keys, loopback included", () => {
    expect(
      scrubSecrets({
        ip: "203.0.113.9",
        previousIp: "127.0.0.1",
        newIp: "127.0.0.2",
        clientIp: "2001:db8:1:2::9",
        remoteAddress: "::ffff:198.51.100.7",
        last_ip: "10.0.0.1",
        "x-forwarded-for": "203.0.113.9, 10.0.0.1",
        ips: ["192.168.1.1", "::1"],
        requestedIp: "unknown",
      }),
    ).toEqual({
      ip: "203.0.x.x",
      previousIp: "127.0.x.x",
      newIp: "127.0.x.x",
      clientIp: "2001:db8:x:x:x:x:x:x",
      remoteAddress: "::ffff:198.51.x.x",
      last_ip: "10.0.x.x",
      "x-forwarded-for": "203.0.x.x, 10.0.x.x",
      ips: ["192.168.x.x", "0:0:x:x:x:x:x:x"],
      requestedIp: "unknown",
    });
  });

  it("masks addresses inside any string, keeping this machine's loopback readable", () => {
    expect(scrubSecrets({ msg: "token used from 203.0.113.9 (hub at http://127.0.0.1:3001)" })).toEqual({
      msg: "token used from 203.0.x.x (hub at http://127.0.0.1:3001)",
    });
  });
});

describe("scrubSecrets: bytes", () => {
  it("reduces every kind of byte buffer to its size", () => {
    const bytes = Buffer.from(PAYLOAD);
    const scrubbed = scrubSecrets({
      buffer: bytes,
      view: new Uint8Array(bytes),
      slice: bytes.subarray(0, 4),
      arrayBuffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      dataView: new DataView(new ArrayBuffer(3)),
      floats: new Float64Array(2),
      nested: { frames: [bytes, { payload: bytes }] },
    });
    expect(scrubbed).toEqual({
      buffer: describeBinary(bytes.length),
      view: describeBinary(bytes.length),
      slice: describeBinary(4),
      arrayBuffer: describeBinary(bytes.length),
      dataView: describeBinary(3),
      floats: describeBinary(16),
      nested: { frames: [describeBinary(bytes.length), { payload: describeBinary(bytes.length) }] },
    });
    expect(JSON.stringify(scrubbed)).not.toContain("CANARY");
    expect(scrubSecrets(bytes)).toBe(`[binary ${bytes.length} bytes]`);
  });
});

describe("scrubSecrets: errors", () => {
  it("scrubs the message and the stack", () => {
    const error = new Error(`could not use ${API_KEY} for Bearer ${AGENT_TOKEN} from 203.0.113.9`);
    const scrubbed = scrubSecrets(error) as { type: string; message: string; stack: string };
    expect(scrubbed.type).toBe("Error");
    expect(scrubbed.message).toBe(`could not use ${REDACTED} for Bearer ${REDACTED} from 203.0.x.x`);
    expect(scrubbed.stack.startsWith(`Error: could not use ${REDACTED}`)).toBe(true);
    expect(scrubbed.stack).toContain("scrub-value.test.ts");
    expect(JSON.stringify(scrubbed)).not.toMatch(/Zq8Zq8|203\.0\.113/);
    expect(JSON.stringify(scrubbed)).not.toContain(AGENT_TOKEN);
  });

  it("follows cause chains, AggregateErrors and an error's own properties", () => {
    class HubError extends Error {
      readonly code = "E_HUB";
      readonly request = { headers: { authorization: `Bearer ${AGENT_TOKEN}` }, body: Buffer.from(PAYLOAD) };
    }
    const root = new Error(`root ${AGENT_TOKEN}`);
    const middle = new Error("middle", { cause: root });
    const top = new HubError(`top ${API_KEY}`, { cause: middle });
    const aggregate = new AggregateError([top, new Error(`sibling pc_session=${"s".repeat(10)}`)], "many failed");
    const text = serialize({ err: aggregate });
    expect(text).not.toContain(AGENT_TOKEN);
    expect(text).not.toContain("Zq8Zq8");
    expect(text).not.toContain("CANARY");
    expect(text).not.toContain("sssssssss");
    const scrubbed = scrubSecrets(aggregate) as {
      type: string;
      errors: { type: string; code: string; request: unknown; cause: { message: string; cause: { message: string } } }[];
    };
    expect(scrubbed.type).toBe("AggregateError");
    const first = scrubbed.errors[0];
    expect(first?.type).toBe("HubError");
    expect(first?.code).toBe("E_HUB");
    expect(first?.request).toEqual({ headers: { authorization: REDACTED }, body: describeBinary(PAYLOAD.length) });
    expect(first?.cause.message).toBe("middle");
    expect(first?.cause.cause.message).toBe(`root ${REDACTED}`);
  });

  it("survives an error whose cause is itself", () => {
    const error = new Error(`loop ${AGENT_TOKEN}`);
    (error as { cause?: unknown }).cause = error;
    const scrubbed = scrubSecrets(error) as { message: string; cause: unknown };
    expect(scrubbed.message).toBe(`loop ${REDACTED}`);
    expect(scrubbed.cause).toBe(CIRCULAR);
  });

  it("scrubs thrown values that are not errors", () => {
    expect(scrubSecrets(`thrown string ${API_KEY}`)).toBe(`thrown string ${REDACTED}`);
    expect(scrubSecrets({ message: `plain ${AGENT_TOKEN}` })).toEqual({ message: `plain ${REDACTED}` });
  });
});

describe("scrubFields", () => {
  it("scrubs the fields of one log line, by key and by shape", () => {
    expect(scrubFields({ agentId: "a1", token: AGENT_TOKEN, ip: "203.0.113.9", note: `k ${API_KEY}` })).toEqual({
      agentId: "a1",
      token: REDACTED,
      ip: "203.0.x.x",
      note: `k ${REDACTED}`,
    });
  });
});
