// The hub serving TLS itself (TLS_CERT/TLS_KEY): agents over wss://, TLS 1.2 as the floor,
// and plain connections refused. Needs the openssl command to make a certificate for the run.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { connect as connectTls } from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { connectTcp, roundTrip, startEchoServer } from "../support/net.ts";
import {
  connect,
  createWorkspace,
  expectSuccess,
  type Hub,
  makeTempDir,
  parseJsonOutput,
  startHub,
} from "../support/processes.ts";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const canRun = hasOpenssl();
if (!canRun) console.warn("WARNING: openssl not found: the TLS end-to-end tests were skipped");

describe.runIf(canRun)("hub over TLS", () => {
  let hub: Hub;
  let caFile: string;

  beforeAll(async () => {
    const dir = await makeTempDir("tls");
    caFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        caFile,
      ].concat(["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]),
      { stdio: "ignore" },
    );
    hub = await startHub({ env: { TLS_CERT: caFile, TLS_KEY: keyFile } });
  });

  it("announces an https URL and answers over TLS 1.2 or newer only", async () => {
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(caFile);
    const status = await new Promise<number>((resolve, reject) => {
      request(`${hub.url}/healthz`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    expect(status).toBe(200);
    const oldTls = await new Promise<string>((resolve) => {
      const socket = connectTls({ host: "127.0.0.1", port: hub.port, ca, minVersion: "TLSv1", maxVersion: "TLSv1.1" });
      socket.on("secureConnect", () => resolve("connected"));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(oldTls).not.toBe("connected");
  });

  it("carries a reach over wss:// between two agents that trust the hub's certificate", async () => {
    const workspace = await createWorkspace(hub, "tls", "ops@tls.test");
    const env = { NODE_EXTRA_CA_CERTS: caFile };
    const serverDir = join(await makeTempDir("tls-server"), "config");
    const laptopDir = join(await makeTempDir("tls-laptop"), "config");
    for (const [label, configDir] of [
      ["server", serverDir],
      ["laptop", laptopDir],
    ] as const) {
      expectSuccess(
        await connect(["up", "--hub", hub.url, "--api-key", workspace.apiKey, "--label", label, "--detach"], {
          configDir,
          env,
          timeoutMs: 60_000,
        }),
      );
    }
    const echo = await startEchoServer();
    expectSuccess(await connect(["expose", `127.0.0.1:${echo.port}`, "--name", "echo"], { configDir: serverDir, env }));
    const reached = parseJsonOutput<{ port: number }>(
      expectSuccess(await connect(["reach", "echo", "--json"], { configDir: laptopDir, env })),
    );
    const reply = await roundTrip(reached.port, Buffer.from("over tls"));
    expect(reply.toString()).toBe("over tls");
  });

  it("refuses a plain TCP client speaking HTTP to the TLS port", async () => {
    const socket = await connectTcp(hub.port);
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
      });
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    expect(answer).not.toContain("HTTP/1.1 200");
  });
});
