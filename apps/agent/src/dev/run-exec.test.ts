import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runExec } from "./run-exec.js";

const node = process.execPath;

describe("runExec", () => {
  it("passes arguments as they are (no shell) and the environment, and returns the exit code", async () => {
    const script =
      "process.exit(process.argv[1] === '$HOME; *' && process.env.DATABASE_URL === 'postgresql://x@127.0.0.1:1/db' ? 7 : 1)";
    await expect(runExec([node, "-e", script, "$HOME; *"], { DATABASE_URL: "postgresql://x@127.0.0.1:1/db" })).resolves.toBe(7);
  });

  it("forwards SIGTERM to the command, which decides how to end", async () => {
    // The child says it is ready (its handler installed) by connecting here; then connect is "signalled".
    const server = createServer((socket) => {
      socket.destroy();
      process.emit("SIGTERM", "SIGTERM");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const script = `process.on('SIGTERM', () => process.exit(3)); require('node:net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000);`;
    const listeners = process.listenerCount("SIGTERM");
    try {
      await expect(runExec([node, "-e", script], {})).resolves.toBe(3);
      // Forwarding ends with the command: connect's own SIGTERM handling is back as it was.
      expect(process.listenerCount("SIGTERM")).toBe(listeners);
    } finally {
      server.close();
    }
  });

  it("returns 128 + the signal's number when a signal ended the command", async () => {
    await expect(runExec([node, "-e", "process.kill(process.pid, 'SIGKILL')"], {})).resolves.toBe(137);
  });

  it("says so when the program does not exist", async () => {
    await expect(runExec(["no-such-program-for-connect-dev"], { PATH: "/nonexistent" })).rejects.toThrow(
      "Cannot run no-such-program-for-connect-dev: not found on PATH",
    );
    await expect(runExec([], {})).rejects.toThrow(/Give the command after --/);
  });
});
