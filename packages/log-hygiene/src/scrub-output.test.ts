import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { scrubWrites } from "./scrub-output.js";

const API_KEY = `pc_${"Wm4".repeat(10)}Rt`;
const AGENT_TOKEN = randomBytes(32).toString("hex");

function fakeStream() {
  const written: { chunk: string | Uint8Array; rest: unknown[] }[] = [];
  const stream = {
    write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      written.push({ chunk, rest });
      return true;
    },
  };
  const text = () =>
    written.map(({ chunk }) => (typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))).join("");
  return { stream, written, text };
}

describe("scrubWrites", () => {
  it("scrubs string and byte chunks, and passes the other arguments through", () => {
    const { stream, written, text } = fakeStream();
    const remove = scrubWrites(stream);
    const callback = () => {};
    stream.write(`Connected with ${AGENT_TOKEN}\n`, "utf8", callback);
    stream.write(Buffer.from(`Hub warning: token used from 203.0.113.9 (key ${API_KEY})\n`));
    stream.write(Buffer.from("plain bytes stay bytes\n"));
    expect(text()).toBe(
      "Connected with [REDACTED]\nHub warning: token used from 203.0.x.x (key [REDACTED])\nplain bytes stay bytes\n",
    );
    expect(written[0]?.rest).toEqual(["utf8", callback]);
    expect(Buffer.isBuffer(written[2]?.chunk)).toBe(true);

    remove();
    stream.write(AGENT_TOKEN);
    expect(text().endsWith(AGENT_TOKEN)).toBe(true);
  });

  it("is installed once however often it is called", () => {
    const { stream, written } = fakeStream();
    scrubWrites(stream);
    scrubWrites(stream);
    stream.write(`x ${AGENT_TOKEN}`);
    expect(written).toHaveLength(1);
    expect(written[0]?.chunk).toBe("x [REDACTED]");
  });

  it("leaves strings written with a binary encoding alone", () => {
    const { stream, written } = fakeStream();
    scrubWrites(stream);
    stream.write(AGENT_TOKEN, "hex");
    expect(written[0]?.chunk).toBe(AGENT_TOKEN);
  });
});

describe("a real process with scrubbed output (as the agent daemon runs)", () => {
  const entry = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js")).href;

  function run(body: string) {
    const script = `
      import { scrubUncaughtErrors, scrubWrites } from ${JSON.stringify(entry)};
      scrubWrites(process.stdout);
      scrubWrites(process.stderr);
      scrubUncaughtErrors();
      ${body}
    `;
    return spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 15_000 });
  }

  it("scrubs console output on stdout and stderr", () => {
    const result = run(`
      console.log("key ${API_KEY} from 198.51.100.7");
      console.error(new Error("failed with Bearer ${AGENT_TOKEN}"));
    `);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("key [REDACTED] from 198.51.x.x\n");
    expect(result.stderr).toContain("Error: failed with Bearer [REDACTED]");
    expect(result.stdout + result.stderr).not.toContain(AGENT_TOKEN);
  });

  it("prints an uncaught exception's stack scrubbed and exits 1, as Node would", () => {
    const result = run(`
      setTimeout(() => {
        throw new Error("crashed holding ${API_KEY}", { cause: "${AGENT_TOKEN}" });
      }, 1);
    `);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^Error: crashed holding \[REDACTED\]\n\s+at /);
    expect(result.stderr).not.toContain("Wm4Wm4");
    expect(result.stderr).not.toContain(AGENT_TOKEN);
  });

  it("also catches an unhandled rejection (Node turns it into an uncaught exception)", () => {
    const result = run(`Promise.reject(new Error("rejected with ${AGENT_TOKEN}"));`);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Error: rejected with [REDACTED]");
    expect(result.stderr).not.toContain(AGENT_TOKEN);
  });
});
