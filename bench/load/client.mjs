// The load generator: a child process driven over IPC by bench/run.mjs. Each command opens
// TCP connections to a contender's entry port and measures from this side. Every loop is
// bounded by a count and a deadline.
import net from "node:net";

const CHUNK = Buffer.alloc(256 * 1024, 0x62);
const now = () => performance.now();

function connect(port) {
  const socket = net.connect({ host: "127.0.0.1", port, noDelay: true, allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

/** Connects, sends 'E' and resolves at the echoed byte. The socket stays open. */
/** A connection through `port` once its first answer arrived (to "E", or to `greeting` bytes). */
function openEcho(port, timeoutMs, greeting = "E") {
  return new Promise((resolve, reject) => {
    const started = now();
    const socket = connect(port);
    const timer = setTimeout(() => fail(new Error("timeout")), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onClose = () => fail(new Error("closed before the echo"));
    socket.once("error", fail);
    socket.once("close", onClose);
    socket.once("connect", () => socket.write(greeting));
    socket.once("data", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      socket.off("close", onClose);
      resolve({ socket, ms: now() - started });
    });
  });
}

function closeAndWait(socket, timeoutMs) {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, timeoutMs);
    socket.on("error", () => {});
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
    socket.end();
  });
}

/** One upload stream: write for durationMs, FIN, wait for the sink's byte count. */
function uploadStream(port, durationMs, stopSignal) {
  return new Promise((resolve, reject) => {
    const socket = connect(port);
    let started = 0;
    const answer = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("upload did not finish in time"));
    }, durationMs + 60_000);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("data", (chunk) => answer.push(chunk));
    socket.on("end", () => {
      clearTimeout(timer);
      const seconds = (now() - started) / 1000;
      const body = Buffer.concat(answer);
      socket.destroy();
      if (body.length < 8) return reject(new Error("no byte count from the sink"));
      resolve({ bytes: Number(body.readBigUInt64BE(0)), seconds, start: started, end: now() });
    });
    socket.once("connect", () => {
      started = now();
      socket.write("U");
      const deadline = started + durationMs;
      const pump = () => {
        while (true) {
          if (now() >= deadline || stopSignal.stopped) {
            socket.end();
            return;
          }
          if (!socket.write(CHUNK)) {
            socket.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

/** One download stream: ask the source for durationMs of data, count it until FIN. */
function downloadStream(port, durationMs, stopSignal) {
  return new Promise((resolve, reject) => {
    const socket = connect(port);
    let started = 0;
    let bytes = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("download did not finish in time"));
    }, durationMs + 60_000);
    const stopCheck = setInterval(() => {
      if (!stopSignal.stopped) return;
      clearTimeout(timer);
      clearInterval(stopCheck);
      const seconds = (now() - started) / 1000;
      socket.destroy();
      resolve({ bytes, seconds, start: started, end: now() });
    }, 20);
    socket.on("error", (error) => {
      clearTimeout(timer);
      clearInterval(stopCheck);
      reject(error);
    });
    socket.on("data", (chunk) => {
      bytes += chunk.length;
    });
    socket.on("end", () => {
      clearTimeout(timer);
      clearInterval(stopCheck);
      const seconds = (now() - started) / 1000;
      socket.destroy();
      resolve({ bytes, seconds, start: started, end: now() });
    });
    socket.once("connect", () => {
      started = now();
      const request = Buffer.alloc(5);
      request.write("D");
      request.writeUInt32BE(durationMs, 1);
      socket.write(request);
    });
  });
}

/** `streams` streams to `port`, or (`ports`) one stream to each port, all at once. */
async function bulk({ port, ports, direction, durationMs, streams = 1 }, stopSignal = { stopped: false }) {
  const run = direction === "upload" ? uploadStream : downloadStream;
  const targets = ports ?? Array.from({ length: streams }, () => port);
  const results = await Promise.all(targets.map((target) => run(target, durationMs, stopSignal)));
  const start = Math.min(...results.map((r) => r.start));
  const end = Math.max(...results.map((r) => r.end));
  const bytes = results.reduce((sum, r) => sum + r.bytes, 0);
  return { bytes, seconds: (end - start) / 1000, streams: results.map(({ bytes: b, seconds }) => ({ bytes: b, seconds })) };
}

let backgroundBulk;

async function pingpong({ port, count, warmup = 200, size = 64, maxMs = 60_000 }) {
  const { socket } = await openEcho(port, 10_000);
  const message = Buffer.alloc(size, 0x70);
  const samples = [];
  const deadline = now() + maxMs;
  let received = 0;
  let onFull;
  socket.on("data", (chunk) => {
    received += chunk.length;
    if (received >= size && onFull) {
      const done = onFull;
      onFull = undefined;
      done();
    }
  });
  let error;
  socket.on("error", (e) => {
    error = e;
  });
  for (let i = 0; i < warmup + count && now() < deadline && !error; i += 1) {
    received = 0;
    const t0 = now();
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("ping-pong reply timed out")), 10_000);
      onFull = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.write(message);
    });
    if (i >= warmup) samples.push(now() - t0);
  }
  socket.destroy();
  if (error) throw error;
  return { samples };
}

async function setupSequential({ port, count, maxMs = 120_000 }) {
  const samples = [];
  let errors = 0;
  const deadline = now() + maxMs;
  for (let i = 0; i < count && now() < deadline; i += 1) {
    try {
      const { socket, ms } = await openEcho(port, 10_000);
      samples.push(ms);
      await closeAndWait(socket, 2_000);
    } catch {
      errors += 1;
    }
  }
  return { samples, errors, attempted: samples.length + errors };
}

async function setupConcurrent({ port, count, timeoutMs = 60_000 }) {
  const started = now();
  const outcomes = await Promise.allSettled(Array.from({ length: count }, () => openEcho(port, timeoutMs)));
  const totalMs = now() - started;
  const opened = outcomes.filter((o) => o.status === "fulfilled").map((o) => o.value);
  const errors = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason?.code ?? o.reason?.message);
  await Promise.all(opened.map(({ socket }) => closeAndWait(socket, 5_000)));
  return {
    totalMs,
    opened: opened.length,
    errors: errors.length,
    errorKinds: [...new Set(errors)].slice(0, 5),
    samples: opened.map((o) => o.ms),
  };
}

const idle = { sockets: [], dropped: 0, errors: 0, errorKinds: new Set() };

async function openIdle({ port, count, concurrency = 200, timeoutMs = 20_000, maxMs = 180_000 }) {
  const started = now();
  let next = 0;
  let opened = 0;
  let errors = 0;
  const worker = async () => {
    while (next < count && now() - started < maxMs) {
      next += 1;
      try {
        const { socket } = await openEcho(port, timeoutMs);
        socket.on("error", () => {});
        socket.once("close", () => {
          if (!socket.benchClosing) idle.dropped += 1;
        });
        idle.sockets.push(socket);
        opened += 1;
      } catch (error) {
        errors += 1;
        idle.errorKinds.add(error.code ?? error.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  idle.errors += errors;
  return { opened, errors, ms: now() - started, held: idle.sockets.length, errorKinds: [...idle.errorKinds].slice(0, 5) };
}

async function closeIdle() {
  const sockets = idle.sockets;
  idle.sockets = [];
  for (const socket of sockets) {
    socket.benchClosing = true;
    socket.destroy();
  }
  const result = { closed: sockets.length, dropped: idle.dropped, errors: idle.errors };
  idle.dropped = 0;
  idle.errors = 0;
  idle.errorKinds.clear();
  return result;
}

/** Reads at most bytesPerSecond from a fast source for durationMs, then hangs up. */
function slowRead({ port, durationMs, bytesPerSecond }) {
  return new Promise((resolve, reject) => {
    const socket = connect(port);
    let started = 0;
    let bytes = 0;
    let ended = false;
    socket.on("error", (error) => {
      if (!ended) reject(error);
    });
    socket.on("data", (chunk) => {
      bytes += chunk.length;
      const allowed = ((now() - started) / 1000) * bytesPerSecond;
      if (bytes > allowed) {
        socket.pause();
        setTimeout(() => socket.resume(), Math.min(1000, ((bytes - allowed) / bytesPerSecond) * 1000));
      }
    });
    socket.once("connect", () => {
      started = now();
      const request = Buffer.alloc(5);
      request.write("D");
      request.writeUInt32BE(durationMs + 5_000, 1);
      socket.write(request);
      setTimeout(() => {
        ended = true;
        const seconds = (now() - started) / 1000;
        socket.destroy();
        resolve({ bytes, seconds });
      }, durationMs);
    });
  });
}

const commands = {
  async probe({ port, timeoutMs = 5_000, greeting }) {
    const { socket, ms } = await openEcho(port, timeoutMs, greeting === undefined ? "E" : Buffer.from(greeting, "hex"));
    socket.destroy();
    return { ms };
  },
  bulk: (args) => bulk(args),
  bulkStart(args) {
    const stopSignal = { stopped: false };
    const promise = bulk(args, stopSignal);
    promise.catch(() => {});
    backgroundBulk = { stopSignal, promise };
    return true;
  },
  async bulkStop() {
    if (!backgroundBulk) return undefined;
    backgroundBulk.stopSignal.stopped = true;
    const result = await backgroundBulk.promise;
    backgroundBulk = undefined;
    return result;
  },
  pingpong,
  setupSequential,
  setupConcurrent,
  openIdle,
  idleStatus: () => ({ held: idle.sockets.length, dropped: idle.dropped }),
  closeIdle,
  slowRead,
};

process.on("message", async (message) => {
  const command = commands[message?.cmd];
  try {
    if (!command) throw new Error(`unknown command ${message?.cmd}`);
    const result = await command(message.args ?? {});
    process.send({ id: message.id, result });
  } catch (error) {
    process.send({ id: message.id, error: error?.message ?? String(error) });
  }
});
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
