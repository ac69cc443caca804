// The bench's own load processes (client and server), driven over IPC.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const loadDir = fileURLToPath(new URL("../load/", import.meta.url));

export async function startLoadProcess(name, { timeoutMs = 10_000 } = {}) {
  const child = fork(`${loadDir}${name}.mjs`, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_OPTIONS: "" },
    execArgv: [],
  });
  const pending = new Map();
  let nextId = 1;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`load ${name} did not start`)), timeoutMs);
    child.on("message", function onReady(message) {
      if (message?.type !== "ready") return;
      clearTimeout(timer);
      child.off("message", onReady);
      resolve(message);
    });
    child.once("exit", (code) => reject(new Error(`load ${name} exited with ${code}`)));
  });
  child.on("message", (message) => {
    const waiter = message?.id !== undefined ? pending.get(message.id) : undefined;
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.on("exit", (code, signal) => {
    for (const waiter of pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`load ${name} exited (${code ?? signal})`));
    }
    pending.clear();
  });
  const info = await ready;
  return {
    pid: child.pid,
    port: info.port,
    call(cmd, args = {}, callTimeoutMs = 300_000) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`load ${name}: ${cmd} timed out`));
        }, callTimeoutMs);
        pending.set(id, { resolve, reject, timer });
        // With a callback a closed channel (the process died, or the time limit stopped it)
        // rejects this call instead of crashing the bench with an unhandled 'error' event.
        child.send({ id, cmd, args }, (error) => {
          if (!error || !pending.has(id)) return;
          pending.delete(id);
          clearTimeout(timer);
          reject(new Error(`load ${name}: ${cmd} not sent: ${error.message}`));
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
