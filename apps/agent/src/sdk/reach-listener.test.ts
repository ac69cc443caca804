import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenForReach, type ReachListener } from "./reach-listener.js";

const listeners: ReachListener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

describe("listenForReach", () => {
  it("refuses a port that is taken, saying how to pick another", async () => {
    const first = await listenForReach({ host: "127.0.0.1", port: 0, onConnection: (socket) => socket.destroy() });
    listeners.push(first);
    await expect(listenForReach({ host: "127.0.0.1", port: first.port, onConnection: () => {} })).rejects.toThrow(
      `Port ${first.port} is already in use: choose another with --port, or omit --port to get a free one`,
    );
  });

  it("lets a client that half-closes still receive the whole answer", async () => {
    const listener = await listenForReach({
      host: "127.0.0.1",
      port: 0,
      // Answers only after the client's FIN, and asynchronously, as the relayed answer does.
      onConnection: (socket: Socket) => {
        socket.resume();
        socket.on("end", () => setImmediate(() => socket.end("answer after your FIN")));
      },
    });
    listeners.push(listener);
    const answer = await new Promise<string>((resolve, reject) => {
      const client = connect(listener.port, "127.0.0.1", () => client.end("request"));
      let text = "";
      client.setEncoding("utf8");
      client.on("data", (chunk: string) => {
        text += chunk;
      });
      client.on("end", () => resolve(text));
      client.on("error", reject);
    });
    expect(answer).toBe("answer after your FIN");
  });

  it("releases the port when closed", async () => {
    const listener = await listenForReach({ host: "127.0.0.1", port: 0, onConnection: (socket) => socket.destroy() });
    await listener.close();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listener.port, "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
