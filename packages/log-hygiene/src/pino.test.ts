import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createScrubbingLogger } from "./pino.js";

const API_KEY = `pc_${"Kx7".repeat(10)}Qz`;
const AGENT_TOKEN = randomBytes(32).toString("hex");
const PAYLOAD = `CANARY-PAYLOAD-${randomBytes(6).toString("hex")}`;

/** A real pino logger writing into memory: the exact lines the hub would print. */
function capture(level = "trace") {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString("utf8"));
      done();
    },
  });
  // pino writes synchronously to a plain stream's write(); no flush is needed.
  const log = createScrubbingLogger({ level, base: { service: "test" } }, destination);
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, text, lines };
}

describe("createScrubbingLogger", () => {
  it("scrubs merge objects, messages and interpolation values at every level", () => {
    const { log, text, lines } = capture();
    const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
    for (const level of levels) {
      log[level](
        { req: { headers: { authorization: `Bearer ${AGENT_TOKEN}`, cookie: "pc_session=abc" } }, data: [{ key: API_KEY }] },
        `${level} with ${API_KEY} and %s`,
        `Bearer ${AGENT_TOKEN}`,
      );
    }
    expect(lines()).toHaveLength(levels.length);
    expect(text()).not.toContain(AGENT_TOKEN);
    expect(text()).not.toContain("Kx7Kx7");
    expect(text()).not.toContain("pc_session=abc");
    const first = lines()[0] as { msg: string; req: unknown; data: unknown };
    expect(first.msg).toBe("trace with [REDACTED] and Bearer [REDACTED]");
    expect(first.req).toEqual({ headers: { authorization: "[REDACTED]", cookie: "[REDACTED]" } });
    expect(first.data).toEqual([{ key: "[REDACTED]" }]);
  });

  it("scrubs child bindings, at any generation", () => {
    const { log, text, lines } = capture();
    log
      .child({ agentId: "a1", token: AGENT_TOKEN, peer: "from 203.0.113.9" })
      .child({ streamId: 7, note: `key ${API_KEY}` })
      .info("stream opened");
    expect(text()).not.toContain(AGENT_TOKEN);
    expect(text()).not.toContain("Kx7Kx7");
    expect(lines()[0]).toMatchObject({
      agentId: "a1",
      token: "[REDACTED]",
      peer: "from 203.0.x.x",
      streamId: 7,
      note: "key [REDACTED]",
      msg: "stream opened",
    });
  });

  it("logs an error with its type, a scrubbed message and stack, and its causes", () => {
    const { log, text, lines } = capture();
    const error = new TypeError(`refused ${API_KEY}`, { cause: new Error(`token ${AGENT_TOKEN} from 198.51.100.7`) });
    log.error(error);
    log.error({ err: error, agentId: "a1" }, "authentication failed");
    expect(text()).not.toContain(AGENT_TOKEN);
    expect(text()).not.toContain("Kx7Kx7");
    expect(text()).not.toContain("198.51.100.7");
    const [bare, withFields] = lines() as {
      msg: string;
      err: { type: string; message: string; stack: string; cause: unknown };
    }[];
    expect(bare?.msg).toBe("refused [REDACTED]");
    expect(bare?.err.type).toBe("TypeError");
    expect(bare?.err.stack).toMatch(/^TypeError: refused \[REDACTED\]\n\s+at /);
    expect(bare?.err.cause).toMatchObject({ type: "Error", message: "token [REDACTED] from 198.51.x.x" });
    expect(withFields?.msg).toBe("authentication failed");
    expect(withFields?.err.type).toBe("TypeError");
  });

  it("never writes payload bytes, whatever the level", () => {
    const { log, text } = capture("trace");
    const frame = Buffer.from(PAYLOAD);
    log.trace({ frame, payloads: [frame, new Uint8Array(frame)], nested: { data: frame.buffer } }, "frame");
    log.debug(frame as unknown as object, "a buffer as the merge object");
    log.info("interpolated %o and %j", frame, { frame });
    expect(text()).not.toContain("CANARY");
    // Buffers serialize as {"type":"Buffer","data":[67,65,...]} unless stopped: check the bytes too.
    expect(text()).not.toContain([...frame.subarray(0, 6)].join(","));
    expect(text()).toContain(`[binary ${frame.length} bytes]`);
  });

  it("masks IP addresses under ip keys and inside strings, keeping loopback in text", () => {
    const { log, lines } = capture();
    log.warn({ previousIp: "127.0.0.1", newIp: "2001:db8:1::9", ip: "::ffff:192.168.1.4" }, "token used from 203.0.113.9");
    log.info({ url: "http://127.0.0.1:3001" }, "hub listening");
    expect(lines()[0]).toMatchObject({
      previousIp: "127.0.x.x",
      newIp: "2001:db8:x:x:x:x:x:x",
      ip: "::ffff:192.168.x.x",
      msg: "token used from 203.0.x.x",
    });
    expect(lines()[1]).toMatchObject({ url: "http://127.0.0.1:3001" });
  });

  it("writes one valid JSON object per line whatever is logged", () => {
    const { log, text } = capture();
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    log.info({ circular, weird: '\u0001\n\\"', big: 10n, sym: Symbol("s"), fn: () => 1 }, "odd \u2028 values");
    log.info(undefined as unknown as string);
    log.info(["an", "array", API_KEY] as unknown as object);
    for (const line of text().trimEnd().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
    expect(text()).not.toContain("Kx7Kx7");
  });
});
