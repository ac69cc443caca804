import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { followLog, readLogTail } from "../daemon-install/agent-log.js";
import { captureOutput } from "../test-support/capture-output.js";
import Logs from "./logs.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "3f2a".repeat(16);
const API_KEY = `pc_${"Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"}`;
const SHARE_CODE = "K7QX-9MZP-R2TW-4HNC";

let dir: string;
let logPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pc-logs-"));
  logPath = join(dir, "agent.log");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** connect logs, stopped by the test instead of Ctrl-C, polling fast. */
class TestLogs extends Logs {
  static stop = new AbortController();
  /** What it printed so far (captureOutput hands it over only at the end). */
  static printed: string[] = [];
  protected override pollMs = 10;
  override log(message = "", ...args: unknown[]): void {
    TestLogs.printed.push(format(message, ...args));
    super.log(message, ...args);
  }
  protected override createStopSignal(): { signal: AbortSignal; dispose: () => void } {
    return { signal: TestLogs.stop.signal, dispose: () => {} };
  }
}

describe("connect logs", () => {
  it("prints the last lines of agent.log with tokens, API keys and share codes scrubbed", async () => {
    await writeFile(
      logPath,
      [
        "2030-01-01T00:00:00.000Z first line",
        `2030-01-01T00:00:01.000Z Using token ${TOKEN} from PRIVATECONNECT_TOKEN`,
        `2030-01-01T00:00:02.000Z registered with --api-key ${API_KEY}`,
        `2030-01-01T00:00:03.000Z Share code: ${SHARE_CODE}`,
        "2030-01-01T00:00:04.000Z Hub notice from 203.0.113.7",
        "",
      ].join("\n"),
    );
    const result = await captureOutput(() => Logs.run(["--config", dir, "--lines", "4"], ROOT));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(
      [
        "2030-01-01T00:00:01.000Z Using token [REDACTED] from PRIVATECONNECT_TOKEN",
        "2030-01-01T00:00:02.000Z registered with --api-key [REDACTED]",
        "2030-01-01T00:00:03.000Z Share code: [REDACTED]",
        "2030-01-01T00:00:04.000Z Hub notice from 203.0.x.x",
        "",
      ].join("\n"),
    );
    for (const secret of [TOKEN, API_KEY, SHARE_CODE]) expect(result.stdout).not.toContain(secret);
  });

  it("says where it looked and how to start the agent when there is no log", async () => {
    const result = await captureOutput(() => Logs.run(["--config", dir], ROOT));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `Error: No agent log at ${logPath}: the agent writes it when it runs in the background. Start it with connect up --detach --config ${dir} or connect daemon install --config ${dir} (connect up without --detach prints its log to the terminal)\n`,
    );
  });

  it("with --follow prints lines appended later, scrubbed, until stopped", async () => {
    await writeFile(logPath, "old 1\nold 2\nhalf of a li");
    TestLogs.stop = new AbortController();
    TestLogs.printed = [];
    let output = { stdout: "", stderr: "", exitCode: -1 };
    const running = captureOutput(() => TestLogs.run(["--config", dir, "--follow", "--lines", "1"], ROOT)).then((result) => {
      output = result;
    });
    await vi.waitFor(() => expect(TestLogs.printed).toEqual(["old 2"]), { timeout: 5000, interval: 10 });
    await appendFile(logPath, `ne\nnew line with ${API_KEY}\n`);
    await vi.waitFor(() => expect(TestLogs.printed).toContain("new line with [REDACTED]"), { timeout: 5000, interval: 10 });
    TestLogs.stop.abort();
    await running;
    expect(output.exitCode).toBe(0);
    expect(output.stdout).toBe("old 2\nhalf of a line\nnew line with [REDACTED]\n");
  });
});

describe("followLog", () => {
  async function follow(offset: number) {
    const lines: string[] = [];
    const notices: string[] = [];
    const controller = new AbortController();
    const done = followLog({
      path: logPath,
      offset,
      onLine: (line) => lines.push(line),
      onNotice: (text) => notices.push(text),
      signal: controller.signal,
      pollMs: 10,
    });
    const waitFor = (line: string) => vi.waitFor(() => expect(lines).toContain(line), { timeout: 5000, interval: 10 });
    const stop = () => {
      controller.abort();
      return done;
    };
    return { lines, notices, waitFor, stop };
  }

  it("goes on across truncation and rotation", async () => {
    await writeFile(logPath, "a\n");
    const tail = await readLogTail(logPath, 10, { isCompleteOnly: true });
    expect(tail).toEqual({ lines: ["a"], endOffset: 2 });
    const followed = await follow(tail.endOffset);
    await appendFile(logPath, "b\n");
    await followed.waitFor("b");

    // copytruncate-style rotation: the same file, emptied, then written again.
    await truncate(logPath, 0);
    await appendFile(logPath, "c\n");
    await followed.waitFor("c");

    // rename-style rotation: the old file moves away (and gets its last line), a new one appears.
    await appendFile(logPath, "d\n");
    await followed.waitFor("d");
    await rename(logPath, `${logPath}.1`);
    await appendFile(`${logPath}.1`, "e\n");
    await writeFile(logPath, "f\n");
    await followed.waitFor("f");
    await followed.stop();
    expect(followed.lines).toEqual(["b", "c", "d", "e", "f"]);
    expect(followed.notices).toEqual([
      `${logPath} was truncated: reading it from the start`,
      `${logPath} was rotated: following the new file`,
    ]);
  });

  it("reads only the end of a large log for the last lines", async () => {
    const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index}`);
    await writeFile(logPath, `${lines.join("\n")}\n`);
    const tail = await readLogTail(logPath, 3, { isCompleteOnly: false });
    expect(tail.lines).toEqual(["line 19997", "line 19998", "line 19999"]);
    expect((await readLogTail(logPath, 0, { isCompleteOnly: false })).lines).toEqual([]);
    await writeFile(logPath, "only\nunfinished");
    expect(await readLogTail(logPath, 5, { isCompleteOnly: false })).toEqual({ lines: ["only", "unfinished"], endOffset: 15 });
    expect(await readLogTail(logPath, 5, { isCompleteOnly: true })).toEqual({ lines: ["only"], endOffset: 5 });
  });
});
