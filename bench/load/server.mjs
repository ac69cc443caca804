// The far end of every contender: one TCP port, the first byte of a connection picks the mode.
//   'E'            echo everything, the mode byte included (setup, ping-pong, idle streams)
//   'U'            upload sink: count bytes until FIN, then answer the count (8 bytes) and end
//   'D' + u32 ms   download source: write as fast as the path accepts for that long, then end
// Runs as a child process so the bench's own event loop stays off the critical path.
import net from "node:net";

const CHUNK = Buffer.alloc(256 * 1024, 0x61);
const stats = { connections: 0, downloadWritten: 0 };

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
  stats.connections += 1;
  socket.setNoDelay(true);
  socket.on("error", () => {});
  socket.on("close", () => {
    stats.connections -= 1;
  });
  let head = Buffer.alloc(0);
  const onHead = (chunk) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const mode = String.fromCharCode(head[0]);
    if (mode === "E") {
      socket.off("data", onHead);
      socket.write(head);
      socket.pipe(socket);
    } else if (mode === "U") {
      socket.off("data", onHead);
      upload(socket, head.length - 1);
    } else if (mode === "D") {
      if (head.length < 5) return;
      socket.off("data", onHead);
      download(socket, head.readUInt32BE(1));
    } else {
      socket.destroy();
    }
  };
  socket.on("data", onHead);
});

function upload(socket, already) {
  let count = already;
  socket.on("data", (chunk) => {
    count += chunk.length;
  });
  socket.on("end", () => {
    const answer = Buffer.alloc(8);
    answer.writeBigUInt64BE(BigInt(count));
    socket.end(answer);
  });
}

function download(socket, durationMs) {
  const deadline = performance.now() + durationMs;
  let written = 0;
  socket.on("data", () => {});
  socket.on("end", () => {});
  const pump = () => {
    // When the path takes bytes as fast as they come (direct TCP does GB/s), write() keeps
    // returning true and this loop would hold the event loop for as long as it lasts, delaying
    // the echo of a ping-pong measured beside it by up to the whole run. Yielding every
    // millisecond keeps that delay the machine's, not this process's.
    const yieldAt = performance.now() + 1;
    // write() on a connection that is already gone returns an error object, which is truthy:
    // only a connection still writable counts what it accepts.
    while (!socket.destroyed && socket.writable) {
      const time = performance.now();
      if (time >= deadline) {
        socket.end();
        return;
      }
      if (time >= yieldAt) {
        setImmediate(pump);
        return;
      }
      written += CHUNK.length;
      stats.downloadWritten = written;
      if (!socket.write(CHUNK)) {
        socket.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.send({ type: "ready", port: server.address().port });
});

process.on("message", (message) => {
  if (message?.cmd === "stats") process.send({ id: message.id, result: { ...stats } });
  else if (message?.cmd === "resetStats") {
    stats.downloadWritten = 0;
    process.send({ id: message.id, result: true });
  }
});
process.on("disconnect", () => process.exit(0));
